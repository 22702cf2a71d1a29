package io.bittensor.axon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.dendrite.Dendrite;
import io.bittensor.dendrite.DendriteCall;
import io.bittensor.neuron.BatchingNeuron;
import io.bittensor.neuron.Neuron;
import io.bittensor.proto.Modality;
import io.bittensor.proto.ReturnCode;
import io.bittensor.proto.Synapse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** An Axon serving a {@link BatchingNeuron}, called by concurrent Dendrites over 127.0.0.1. */
class BatchingAxonIT {
    private final List<AutoCloseable> closeMe = new ArrayList<>();
    private final ExecutorService callers = Executors.newFixedThreadPool(20);

    @AfterEach
    void closeAll() throws Exception {
        callers.shutdownNow();
        assertTrue(callers.awaitTermination(20, TimeUnit.SECONDS));
        for (int i = closeMe.size() - 1; i >= 0; i--) {
            closeMe.get(i).close();
        }
    }

    private <T extends AutoCloseable> T owned(T c) {
        closeMe.add(c);
        return c;
    }

    /** [b, 1, 512] -> 2x + 1, taking {@code millis} per call; counts calls and rows. */
    private static final class Doubler implements Neuron {
        final AtomicInteger calls = new AtomicInteger();
        final AtomicLong rows = new AtomicLong();
        final long millis;

        Doubler(long millis) {
            this.millis = millis;
        }

        @Override
        public INDArray forwardTensor(INDArray x) {
            calls.incrementAndGet();
            rows.addAndGet(x.size(0));
            try {
                Thread.sleep(millis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return x.mul(2).addi(1);
        }
    }

    private static Synapse synapse(int port) {
        return Synapse.newBuilder().setVersion("0.0.0").setSynapseKey("b").setAddress("127.0.0.1")
                .setPort(Integer.toString(port)).build();
    }

    private static INDArray input(int caller, int round, int rows) {
        return Nd4j.rand(DataType.FLOAT, rows, 1, 512).addi(caller * 100 + round);
    }

    @Test
    void sixteenConcurrentCallersEachGetTheirOwnRowsInFewerModelCalls() throws Exception {
        Doubler model = new Doubler(5);
        BatchingNeuron batching = owned(BatchingNeuron.builder(model).maxBatchRows(256).build());
        Axon axon = owned(Axon.builder().bindAddress("127.0.0.1").port(0).workerThreads(18)
                .serve("b", batching).build().start());
        Synapse peer = synapse(axon.port());
        int rounds = 10;
        List<Future<Integer>> done = new ArrayList<>();
        for (int c = 0; c < 16; c++) {
            int caller = c;
            done.add(callers.submit(() -> {
                try (Dendrite d = Dendrite.builder().timeout(Duration.ofSeconds(20)).build()) {
                    for (int r = 0; r < rounds; r++) {
                        INDArray x = input(caller, r, 1 + (caller + r) % 8);
                        DendriteCall call = d.forward(List.of(peer), List.of(x), Modality.TENSOR);
                        assertEquals(ReturnCode.OK, call.results().get(0).code(), call.results().toString());
                        assertEquals(x.mul(2).addi(1), call.outputs().get(0),
                                "caller " + caller + " round " + r + " gets its own rows, in order");
                    }
                }
                return caller;
            }));
        }
        for (Future<Integer> f : done) {
            f.get(120, TimeUnit.SECONDS);
        }
        assertTrue(model.calls.get() < 16 * rounds,
                "merged: " + model.calls.get() + " model calls for " + 16 * rounds + " requests");
        long expectedRows = 0;
        for (int c = 0; c < 16; c++) {
            for (int r = 0; r < rounds; r++) {
                expectedRows += 1 + (c + r) % 8;
            }
        }
        assertEquals(expectedRows, model.rows.get(), "every row computed exactly once");
    }

    @Test
    void callersThatTimeOutDoNotDisturbTheOthers() throws Exception {
        Doubler model = new Doubler(150);
        BatchingNeuron batching = owned(BatchingNeuron.builder(model).maxBatchRows(4).build());
        Axon axon = owned(Axon.builder().bindAddress("127.0.0.1").port(0).workerThreads(18)
                .serve("b", batching).build().start());
        Synapse peer = synapse(axon.port());
        List<Future<ReturnCode>> impatient = new ArrayList<>();
        List<Future<ReturnCode>> patient = new ArrayList<>();
        for (int c = 0; c < 12; c++) {
            int caller = c;
            boolean hurried = c % 2 == 0;
            Future<ReturnCode> f = callers.submit(() -> {
                try (Dendrite d = Dendrite.builder()
                        .timeout(hurried ? Duration.ofMillis(100) : Duration.ofSeconds(20)).build()) {
                    INDArray x = input(caller, 0, 2);
                    DendriteCall call = d.forward(List.of(peer), List.of(x), Modality.TENSOR);
                    ReturnCode code = call.results().get(0).code();
                    if (code == ReturnCode.OK) {
                        assertEquals(x.mul(2).addi(1), call.outputs().get(0), "caller " + caller);
                    }
                    return code;
                }
            });
            (hurried ? impatient : patient).add(f);
        }
        int timedOut = 0;
        for (Future<ReturnCode> f : impatient) {
            ReturnCode code = f.get(60, TimeUnit.SECONDS);
            assertTrue(code == ReturnCode.OK || code == ReturnCode.TIMEOUT, code.toString());
            timedOut += code == ReturnCode.TIMEOUT ? 1 : 0;
        }
        for (Future<ReturnCode> f : patient) {
            assertEquals(ReturnCode.OK, f.get(60, TimeUnit.SECONDS));
        }
        assertTrue(timedOut > 0, "with 150 ms per batch of 4 rows, some 100 ms callers time out");
        assertTrue(model.rows.get() < 24, "callers that gave up while queued were skipped: "
                + model.rows.get() + " rows computed of 24 asked");
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (axon.stats().inFlight() > 0 && System.nanoTime() < end) {
            Thread.sleep(10);
        }
        assertEquals(0, axon.stats().inFlight(), "nothing left in flight");
    }
}
