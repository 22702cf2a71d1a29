package io.bittensor.metagraph;

/** A gossip peer "host:port" as carried in GossipBatch.peers. */
record PeerAddress(String host, int port) {

    /** The parsed address, or null for anything that is not host:port with a port in 1..65535. */
    static PeerAddress parse(String s) {
        if (s == null || s.length() > MetagraphConfig.MAX_PEER_CHARS) {
            return null;
        }
        int colon = s.lastIndexOf(':');
        if (colon <= 0 || colon == s.length() - 1 || s.length() - colon - 1 > 5) {
            return null;
        }
        String host = s.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1); // [v6]:port
        } else if (host.indexOf(':') >= 0) {
            return null;
        }
        if (host.isEmpty()) {
            return null;
        }
        for (int i = 0; i < host.length(); i++) {
            char c = host.charAt(i);
            if (!(Character.isLetterOrDigit(c) && c < 128) && c != '.' && c != '-' && c != ':'
                    && c != '_') {
                return null;
            }
        }
        int port = 0;
        for (int i = colon + 1; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                return null;
            }
            port = port * 10 + (c - '0');
        }
        return port >= 1 && port <= 65535 ? new PeerAddress(host, port) : null;
    }
}
