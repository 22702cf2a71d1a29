package io.bittensor.axon;

import static io.bittensor.neuron.TestNeurons.synapse;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.dendrite.Dendrite;
import io.bittensor.dendrite.DendriteCall;
import io.bittensor.neuron.Neuron;
import io.bittensor.proto.Modality;
import io.bittensor.proto.ReturnCode;
import io.bittensor.proto.Synapse;
import java.time.Duration;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Inline calls (AxonSettings.inlineBelow) on real gRPC over 127.0.0.1. */
class AxonInlineIT {

    /** Answers 2x, after {@code sleepMs}, and notes the thread that ran it. */
    private static final class Traced implements Neuron {
        final Queue<String> threads = new ConcurrentLinkedQueue<>();
        volatile long sleepMs;

        Traced(long sleepMs) {
            this.sleepMs = sleepMs;
        }

        @Override
        public INDArray forwardTensor(INDArray x) {
            threads.add(Thread.currentThread().getName());
            if (sleepMs > 0) {
                try {
                    Thread.sleep(sleepMs);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return x.mul(2);
        }

        List<String> last(int n) {
            List<String> all = List.copyOf(threads);
            return all.subList(Math.max(0, all.size() - n), all.size());
        }
    }

    private static void call(Dendrite d, Synapse peer, int times) {
        for (int i = 0; i < times; i++) {
            INDArray x = Nd4j.rand(DataType.FLOAT, 2, 1, 512).addi(i);
            try (DendriteCall c = d.forward(List.of(peer), List.of(x), Modality.TENSOR)) {
                assertEquals(ReturnCode.OK, c.results().get(0).code(), c.results().toString());
                assertEquals(x.mul(2), c.outputs().get(0));
            }
        }
    }

    @Test
    void fastSynapsesRunOnTheIoThreadSlowOnesAndTurnedSlowOnesOnWorkers() {
        Traced fast = new Traced(0);
        Traced slow = new Traced(80);
        try (Axon axon = Axon.builder().bindAddress("127.0.0.1").port(0).ioThreads(1).workerThreads(2)
                .inlineBelow(Duration.ofMillis(50)).shutdownGrace(Duration.ofMillis(200))
                .serve("fast", fast).serve("slow", slow).build().start();
             Dendrite d = Dendrite.builder().signRequests(false).ioThreads(1).timeout(Duration.ofSeconds(10)).build()) {
            Synapse pf = synapse("fast", "127.0.0.1", axon.port());
            Synapse ps = synapse("slow", "127.0.0.1", axon.port());

            call(d, pf, InlinePolicy.MIN_SAMPLES);
            assertTrue(fast.threads.stream().allMatch(t -> t.contains("-worker-")), "first calls are timed on workers: " + fast.threads);
            // Once the average of the timed calls is under the threshold (cold first calls on a
            // loaded machine may take a while to be outweighed), calls run on the I/O thread.
            for (int i = 0; i < 200 && !fast.last(1).get(0).contains("-io-"); i++) {
                call(d, pf, 1);
            }
            call(d, pf, 10);
            assertTrue(fast.last(10).stream().allMatch(t -> t.contains("-io-")), "then inline: " + fast.last(10));

            call(d, ps, InlinePolicy.MIN_SAMPLES + 4); // 80 ms > 50 ms: never inline
            assertTrue(slow.threads.stream().allMatch(t -> t.contains("-worker-")), "slow: " + slow.threads);

            // The fast one turns slow: one call stalls the I/O thread, the next go to workers.
            fast.sleepMs = 4 * 50 + 50;
            call(d, pf, 3);
            List<String> turned = fast.last(3);
            assertTrue(turned.get(0).contains("-io-"), "the stall: " + turned);
            assertTrue(turned.subList(1, 3).stream().allMatch(t -> t.contains("-worker-")), "cooling down: " + turned);
        }
    }

    @Test
    void inliningIsOffByDefault() {
        Traced fast = new Traced(0);
        try (Axon axon = Axon.builder().bindAddress("127.0.0.1").port(0).shutdownGrace(Duration.ofMillis(200))
                .serve("fast", fast).build().start();
             Dendrite d = Dendrite.builder().signRequests(false).ioThreads(1).build()) {
            call(d, synapse("fast", "127.0.0.1", axon.port()), InlinePolicy.MIN_SAMPLES + 10);
            assertTrue(fast.threads.stream().allMatch(t -> t.contains("-worker-")), "" + fast.threads);
        }
    }
}
