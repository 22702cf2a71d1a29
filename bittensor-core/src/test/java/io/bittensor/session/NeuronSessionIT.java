package io.bittensor.session;

import static io.bittensor.neuron.TestNeurons.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.config.HostPort;
import io.bittensor.config.NeuronConfig;
import io.bittensor.crypto.KeyFiles;
import io.bittensor.dendrite.DendriteCall;
import io.bittensor.neuron.TestNeurons;
import io.bittensor.proto.Modality;
import io.bittensor.proto.ReturnCode;
import io.bittensor.proto.Synapse;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Sessions on loopback: wiring, serving, querying, clean shutdown. */
class NeuronSessionIT {

    @TempDir
    Path dir;

    private final List<NeuronSession> sessions = new ArrayList<>();

    @AfterEach
    void closeAll() {
        sessions.forEach(NeuronSession::close);
    }

    private NeuronConfig config(String name, HostPort... bootstrap) {
        return NeuronConfig.builder().axonPort(0).metagraphPort(0).remoteIp("127.0.0.1")
                .datapath(dir.resolve(name)).logdir(dir.resolve(name).resolve("logs"))
                .bootstrap(List.of(bootstrap)).build();
    }

    private NeuronSession session(NeuronConfig config) throws IOException {
        NeuronSession s = NeuronSession.builder(config).bindHost("127.0.0.1")
                .metagraph(m -> m.interval(Duration.ofMillis(100)).powDifficulty(1)
                        .requestTimeout(Duration.ofSeconds(5)))
                .dendrite(d -> d.timeout(Duration.ofSeconds(10)).ioThreads(1))
                .axon(a -> a.workerThreads(1).ioThreads(1))
                .build();
        sessions.add(s);
        return s;
    }

    @Test
    void twoSessionsFindEachOtherAndCallForwardAndBackward() throws IOException {
        NeuronSession a = session(config("a"));
        a.serve("syn-a", new TestNeurons.Scale(2));
        a.start();
        NeuronSession b = session(config("b", HostPort.parse(a.metagraphAddress())));
        b.serve("syn-b", new TestNeurons.Scale(3));
        b.start();

        await(() -> a.metagraph().synapse("syn-b").isPresent() && b.metagraph().synapse("syn-a").isPresent());
        Synapse synA = b.metagraph().synapse("syn-a").orElseThrow();
        assertEquals(Integer.toString(a.axonPort()), synA.getPort());
        assertEquals(a.keypair().publicKeyHex(), synA.getNeuronKey());
        assertEquals(1, a.stats().peersKnown());

        INDArray x = Nd4j.rand(DataType.FLOAT, 2, 1, 512);
        DendriteCall call = b.forward(List.of(synA), List.of(x), Modality.TENSOR);
        assertEquals(ReturnCode.OK, call.results().get(0).code());
        assertArrayEquals(x.mul(2).ravel().toFloatVector(), call.outputs().get(0).ravel().toFloatVector(), 1e-6f);
        INDArray g = Nd4j.ones(DataType.FLOAT, 2, 1, 512).muli(0.01); // under the Axon's gradient-norm clip
        INDArray dx = b.backward(call, List.of(g)).get(0);
        assertArrayEquals(g.mul(2).ravel().toFloatVector(), dx.ravel().toFloatVector(), 1e-6f);

        SessionStats sb = b.stats();
        assertEquals(2, sb.remoteCalls());
        assertEquals(1.0, sb.remoteSuccessRate());
        assertEquals(2, a.stats().requestsServed());
        assertEquals(new RemoteCallStats.PeerCounts(1, 1, 1, 1), b.remoteCalls().byPeer().get("syn-a"));
        assertTrue(sb.synapsesKnown() >= 2, "own + a's synapse");
    }

    @Test
    void servingAgainSwapsTheNeuronWithoutRepublishing() throws IOException {
        NeuronSession a = session(config("a"));
        a.start();
        a.serve("k", new TestNeurons.Scale(2));  // after start: published at once
        Synapse first = a.metagraph().synapse("k").orElseThrow();
        a.serve("k", new TestNeurons.Scale(5));
        assertEquals(first.getNounce(), a.metagraph().synapse("k").orElseThrow().getNounce());
        NeuronSession b = session(config("b"));
        b.start();
        INDArray x = Nd4j.ones(DataType.FLOAT, 1, 1, 512);
        DendriteCall call = b.forward(List.of(first), List.of(x), Modality.TENSOR);
        assertEquals(5f, call.outputs().get(0).getFloat(0), 1e-6f);
        assertTrue(a.unserve("k"));
        assertTrue(a.metagraph().synapse("k").isEmpty());
    }

    @Test
    void theKeyIsCreatedOnceInTheDatapathAndReused() throws IOException {
        NeuronConfig c = config("keys");
        String first;
        try (NeuronSession s = session(c)) {
            first = s.keypair().publicKeyHex();
        }
        assertTrue(Files.exists(c.neuronKeyFile()));
        try (NeuronSession s = session(c)) {
            assertEquals(first, s.keypair().publicKeyHex());
        }
        // A named key file is used as is, and must exist.
        Path named = dir.resolve("named.key");
        KeyFiles.save(io.bittensor.crypto.Keypair.generate(), named);
        try (NeuronSession s = session(c.toBuilder().neuronKey(named).build())) {
            assertEquals(KeyFiles.load(named).publicKeyHex(), s.keypair().publicKeyHex());
        }
        NeuronConfig missing = c.toBuilder().neuronKey(dir.resolve("nope.key")).build();
        assertThrows(NoSuchFileException.class, () -> NeuronSession.builder(missing).build());
    }

    @Test
    void closeReleasesEveryPortAndThread() throws IOException {
        Set<Thread> before = Thread.getAllStackTraces().keySet();
        NeuronSession a = session(config("a"));
        a.serve("k", new TestNeurons.Scale(1));
        a.start();
        NeuronSession b = session(config("b", HostPort.parse(a.metagraphAddress())));
        b.start();
        await(() -> b.metagraph().synapse("k").isPresent());
        b.forward(List.of(b.metagraph().synapse("k").orElseThrow()),
                List.of(Nd4j.ones(DataType.FLOAT, 1, 1, 512)), Modality.TENSOR);
        int[] ports = {a.axonPort(), a.metagraphPort(), b.axonPort(), b.metagraphPort()};

        b.close();
        a.close();
        a.close(); // idempotent
        assertFalse(a.isRunning());
        assertThrows(IllegalStateException.class, a::start);

        for (int port : ports) {
            try (ServerSocket s = new ServerSocket()) {
                s.bind(new InetSocketAddress("127.0.0.1", port)); // would throw if still bound
            }
        }
        // Executors report termination just before their threads exit; gRPC's shared event loops
        // are released a second after their last user: poll.
        assertNoThreadsLeft(before);
    }

    @Test
    void aTakenPortFailsStartAndLeavesNothingRunning() throws IOException {
        Set<Thread> before = Thread.getAllStackTraces().keySet();
        try (ServerSocket taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress("127.0.0.1", 0));
            NeuronSession s = session(config("a").toBuilder().metagraphPort(taken.getLocalPort()).build());
            RuntimeException e = assertThrows(RuntimeException.class, s::start);
            assertTrue(e.getMessage().contains(Integer.toString(taken.getLocalPort())), e.getMessage());
            assertFalse(s.isRunning());
        }
        // gRPC never releases its shared event loops after a failed bind, so the Axon and the
        // Metagraph own theirs: nothing may outlive the failure.
        assertNoThreadsLeft(before);
    }

    /** Polls up to 20 s for every thread started since {@code before} to end. */
    private static void assertNoThreadsLeft(Set<Thread> before) {
        assertEventuallyEmpty(() -> leftOver(before));
    }

    private static void assertEventuallyEmpty(Supplier<Set<String>> names) {
        long end = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        Set<String> left = names.get();
        while (!left.isEmpty() && System.nanoTime() < end) {
            LockSupport.parkNanos(Duration.ofMillis(10).toNanos()); // polling thread exits
            left = names.get();
        }
        assertEquals(Set.of(), left);
    }

    /** Threads started since {@code before} that are still alive, JVM-wide pools aside. */
    private static Set<String> leftOver(Set<Thread> before) {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> !before.contains(t) && t.isAlive())
                .map(Thread::getName)
                // Netty's globalEventExecutor is JVM-wide too: started on demand, it ends after a second idle.
                .filter(n -> !n.startsWith("ForkJoinPool.commonPool") && !n.startsWith("grpc-shared-destroyer")
                        && !n.startsWith("globalEventExecutor")
                        && !n.startsWith("JavaCPP") && !n.startsWith("Attach"))
                .collect(Collectors.toSet());
    }
}
