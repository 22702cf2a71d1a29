package io.bittensor.config;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Finds the address a neuron advertises to peers without asking an internet service (the original
 * asked api.ipify.org): the best address of an interface that is up, else {@code 127.0.0.1}.
 */
public final class RemoteIp {
    /** Used when no non-loopback interface is up. */
    public static final String FALLBACK = "127.0.0.1";

    private RemoteIp() {}

    /** One address of one interface, as seen by {@link #choose}. */
    public record Candidate(String interfaceName, InetAddress address, boolean up, boolean loopback, boolean virtual) {}

    /** This machine's best advertised address. */
    public static String detect() {
        List<Candidate> all = new ArrayList<>();
        try {
            for (NetworkInterface ni : Collections.list(NetworkInterface.getNetworkInterfaces())) {
                boolean up = ni.isUp();
                boolean loopback = ni.isLoopback();
                boolean virtual = ni.isVirtual() || isBridgeName(ni.getName());
                for (InetAddress a : Collections.list(ni.getInetAddresses())) {
                    all.add(new Candidate(ni.getName(), a, up, loopback, virtual));
                }
            }
        } catch (SocketException | RuntimeException e) {
            return FALLBACK;
        }
        return choose(all).orElse(FALLBACK);
    }

    /**
     * Picks among interface addresses: up, not loopback, not link-local; IPv4 before IPv6;
     * physical interfaces before container bridges; then by interface name, for a stable answer.
     */
    static Optional<String> choose(List<Candidate> candidates) {
        return candidates.stream()
                .filter(c -> c.up() && !c.loopback())
                .filter(c -> !c.address().isLoopbackAddress() && !c.address().isLinkLocalAddress()
                        && !c.address().isAnyLocalAddress() && !c.address().isMulticastAddress())
                .sorted(Comparator.comparing((Candidate c) -> !(c.address() instanceof Inet4Address))
                        .thenComparing(Candidate::virtual)
                        .thenComparing(Candidate::interfaceName))
                .map(c -> c.address().getHostAddress())
                .map(RemoteIp::stripScope)
                .findFirst();
    }

    private static String stripScope(String host) {
        int pct = host.indexOf('%');
        return pct < 0 ? host : host.substring(0, pct);
    }

    private static boolean isBridgeName(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        return n.startsWith("docker") || n.startsWith("br-") || n.startsWith("veth") || n.startsWith("virbr")
                || n.startsWith("cni") || n.startsWith("flannel");
    }
}
