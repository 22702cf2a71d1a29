package io.bittensor.session;

import static io.bittensor.neuron.TestNeurons.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.bittensor.config.HostPort;
import io.bittensor.config.NeuronConfig;
import io.bittensor.neuron.TestNeurons;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's two commands: the first neuron advertises an address other than 127.0.0.1 (its
 * LAN address there, "localhost" here), the second bootstraps by 127.0.0.1. Each logs "peers 1".
 */
class NeuronSessionOnePeerIT {
    @TempDir
    Path dir;

    private final List<NeuronSession> sessions = new ArrayList<>();

    @AfterEach
    void closeAll() {
        sessions.forEach(NeuronSession::close);
    }

    private NeuronSession start(String name, String remoteIp, List<HostPort> bootstrap) throws IOException {
        NeuronConfig config = NeuronConfig.builder().axonPort(0).metagraphPort(0).remoteIp(remoteIp)
                .datapath(dir.resolve(name)).logdir(dir.resolve(name).resolve("logs"))
                .bootstrap(bootstrap).build();
        NeuronSession s = NeuronSession.builder(config).bindHost("127.0.0.1")
                .metagraph(m -> m.interval(Duration.ofMillis(100)).powDifficulty(1)
                        .requestTimeout(Duration.ofSeconds(5)))
                .axon(a -> a.workerThreads(1).ioThreads(1))
                .build();
        sessions.add(s);
        s.serve(s.keypair().synapseKey(name), new TestNeurons.Scale(2));
        return s.start();
    }

    @Test
    void bootstrapByLoopbackAndAnotherAdvertisedAddressShowPeersOne() throws IOException {
        NeuronSession first = start("first", "localhost", List.of());
        NeuronSession second = start("second", "127.0.0.1",
                List.of(HostPort.parse("127.0.0.1:" + first.metagraph().port())));
        String firstSynapse = first.keypair().synapseKey("first");
        String secondSynapse = second.keypair().synapseKey("second");

        await(() -> first.metagraph().synapse(secondSynapse).isPresent()
                && second.metagraph().synapse(firstSynapse).isPresent()
                && first.stats().peersKnown() == 1 && second.stats().peersKnown() == 1);
        // Thirty more gossip rounds, in which each hears the other's addresses again: still one.
        for (int i = 0; i < 30; i++) {
            LockSupport.parkNanos(Duration.ofMillis(100).toNanos());
            assertEquals(1, second.stats().peersKnown(), () -> "second knows " + second.metagraph().peers(10));
            assertEquals(1, first.stats().peersKnown(), () -> "first knows " + first.metagraph().peers(10));
        }
    }
}
