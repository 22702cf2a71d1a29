package io.bittensor.config;

import com.google.common.net.HostAndPort;

/**
 * A peer address {@code host:port} (IPv6 hosts in brackets: {@code [::1]:8092}).
 *
 * @param host name or IP literal, without brackets
 * @param port 1..65535
 */
public record HostPort(String host, int port) {
    public HostPort {
        if (host == null || host.isBlank()) {
            throw new IllegalArgumentException("host is empty");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " is out of range 1..65535");
        }
    }

    /**
     * Parses {@code host:port}.
     *
     * @throws IllegalArgumentException with a message fit for a user
     */
    public static HostPort parse(String text) {
        String s = text == null ? "" : text.trim();
        HostAndPort hp;
        try {
            hp = HostAndPort.fromString(s);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("'" + s + "' is not host:port");
        }
        if (!hp.hasPort() || hp.getHost().isEmpty()) {
            throw new IllegalArgumentException("'" + s + "' is not host:port");
        }
        if (!NeuronConfig.isHostName(hp.getHost())) {
            throw new IllegalArgumentException("'" + s + "' has an invalid host");
        }
        try {
            return new HostPort(hp.getHost(), hp.getPort());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("'" + s + "': " + e.getMessage());
        }
    }

    /** {@code host:port}, with brackets around IPv6 literals; {@link #parse} reads it back. */
    @Override
    public String toString() {
        return HostAndPort.fromParts(host, port).toString();
    }
}
