package io.bittensor.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class NeuronConfigTest {
    @Test
    void builderValidatesAndNamesTheFlag() {
        ConfigException e = assertThrows(ConfigException.class, () -> NeuronConfig.builder().axonPort(65536).build());
        assertEquals("--axon_port", e.option());
        assertEquals("--metagraph_size",
                assertThrows(ConfigException.class, () -> NeuronConfig.builder().metagraphSize(0).build()).option());
        assertEquals("--learning_rate",
                assertThrows(ConfigException.class, () -> NeuronConfig.builder().learningRate(-1.0).build()).option());
        assertEquals("--remote_ip",
                assertThrows(ConfigException.class, () -> NeuronConfig.builder().remoteIp("a b").build()).option());
    }

    @Test
    void toBuilderRoundTrips() {
        NeuronConfig c = NeuronConfig.builder().axonPort(1).remoteIp("10.1.2.3").learningRate(0.5)
                .bootstrap(List.of(HostPort.parse("peer:1"))).build();
        assertEquals(c, c.toBuilder().build());
    }

    @Test
    void hostPortParsesAndPrintsBack() {
        for (String s : List.of("localhost:8092", "10.0.0.1:1", "[2001:db8::1]:65535", "peer-1.example.org:80")) {
            assertEquals(s, HostPort.parse(s).toString());
        }
        assertEquals(new HostPort("2001:db8::1", 65535), HostPort.parse("[2001:db8::1]:65535"));
        for (String bad : List.of("", "host", "host:", ":1", "host:0", "host:65536", "-bad-:1", "1.2.3.999:1", "a_b:1")) {
            assertThrows(IllegalArgumentException.class, () -> HostPort.parse(bad), bad);
        }
    }

    @Test
    void remoteIpPrefersAnUpPhysicalIpv4() throws UnknownHostException {
        List<RemoteIp.Candidate> c = List.of(
                cand("lo", "127.0.0.1", true, true, false),
                cand("docker0", "172.17.0.1", true, false, true),
                cand("eth1", "fe80::1", true, false, false),
                cand("eth0", "2001:db8::5", true, false, false),
                cand("eth2", "10.9.9.9", false, false, false),
                cand("eth0", "192.168.0.10", true, false, false));
        assertEquals(Optional.of("192.168.0.10"), RemoteIp.choose(c));
        assertEquals(Optional.of("172.17.0.1"), RemoteIp.choose(c.subList(0, 2)));
        assertEquals(Optional.empty(), RemoteIp.choose(List.of(c.get(0), c.get(2))));
        assertFalse(RemoteIp.detect().isBlank());
    }

    private static RemoteIp.Candidate cand(String name, String ip, boolean up, boolean loopback, boolean virtual)
            throws UnknownHostException {
        return new RemoteIp.Candidate(name, InetAddress.getByName(ip), up, loopback, virtual);
    }

    @Test
    void hostNames() {
        assertTrue(NeuronConfig.isHostName("localhost"));
        assertTrue(NeuronConfig.isHostName("::1"));
        assertTrue(NeuronConfig.isHostName("node-7.local."));
        assertFalse(NeuronConfig.isHostName("256.0.0.1"));
        assertFalse(NeuronConfig.isHostName("under_score"));
        assertFalse(NeuronConfig.isHostName(""));
    }
}
