package io.bittensor.neuron;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.proto.Modality;
import io.bittensor.proto.ServedInput;
import io.grpc.Context;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class BatchingNeuronTest {

    /** Applies {@code body}; records every batch it sees; can hold the first call until released. */
    private static final class Gated implements Neuron {
        final List<INDArray> seen = new CopyOnWriteArrayList<>();
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch release;
        final UnaryOperator<INDArray> body;

        Gated(boolean holdFirst, UnaryOperator<INDArray> body) {
            this.release = new CountDownLatch(holdFirst ? 1 : 0);
            this.body = body;
        }

        @Override
        public INDArray forwardTensor(INDArray x) {
            seen.add(x.dup());
            entered.countDown();
            try {
                release.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return body.apply(x);
        }

        @Override
        public INDArray forwardImage(INDArray x) {
            return forwardTensor(x);
        }
    }

    /** y = 2x + 1, row by row. */
    private static Gated recording(boolean holdFirst) {
        return new Gated(holdFirst, x -> x.mul(2).addi(1));
    }

    /** Starts a first call and returns once the model holds it: later inputs queue behind it. */
    private Future<INDArray> holdFirst(BatchingNeuron b, Gated model, INDArray x) throws InterruptedException {
        Future<INDArray> held = callers.submit(() -> b.forward(Modality.TENSOR, x));
        assertTrue(model.entered.await(30, TimeUnit.SECONDS), "the first call reached the model");
        return held;
    }

    private final ExecutorService callers = Executors.newCachedThreadPool();
    private final List<BatchingNeuron> opened = new ArrayList<>();

    @AfterEach
    void stop() throws InterruptedException {
        opened.forEach(BatchingNeuron::close);
        callers.shutdownNow();
        assertTrue(callers.awaitTermination(10, TimeUnit.SECONDS));
    }

    /** One dispatcher: a held call keeps every later input queued, which these tests rely on. */
    private BatchingNeuron batching(Neuron n, int maxRows, Duration queueWait) {
        return batching(n, maxRows, queueWait, 1);
    }

    private BatchingNeuron batching(Neuron n, int maxRows, Duration queueWait, int dispatchers) {
        BatchingNeuron b = BatchingNeuron.builder(n).maxBatchRows(maxRows).maxWait(Duration.ofMillis(1))
                .maxQueueWait(queueWait).dispatchers(dispatchers).build();
        opened.add(b);
        return b;
    }

    /** Rows whose values name the caller: caller c, row r, column k = c * 1000 + r * 10 + k. */
    private static INDArray input(int caller, int rows, long... rest) {
        long[] shape = new long[rest.length + 1];
        shape[0] = rows;
        System.arraycopy(rest, 0, shape, 1, rest.length);
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return Nd4j.arange(n).castTo(DataType.FLOAT).reshape('c', shape).addi(caller * 1000);
    }

    private static void awaitQueued(BatchingNeuron b, int n) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (b.queued() < n) {
            assertTrue(System.nanoTime() < end, "callers queued: " + b.queued() + " of " + n);
            Thread.sleep(2);
        }
    }

    @Test
    void publishesWhatTheWrappedNeuronServes() {
        Neuron tensor4 = new Neuron() {
            @Override
            public List<ServedInput> serves() {
                return List.of(ServedInputs.tensor(4));
            }
        };
        try (BatchingNeuron batched = BatchingNeuron.builder(tensor4).build()) {
            assertEquals(tensor4.serves(), batched.serves());
        }
    }

    @Test
    void concurrentCallersShareOneModelCallAndEachGetsItsOwnRowsInOrder() throws Exception {
        Gated model = recording(true);
        BatchingNeuron b = batching(model, 256, Duration.ofSeconds(10));
        INDArray first = input(99, 1, 3, 4);
        Future<INDArray> held = holdFirst(b, model, first);
        List<INDArray> inputs = new ArrayList<>();
        List<Future<INDArray>> results = new ArrayList<>();
        for (int c = 0; c < 16; c++) {
            INDArray x = input(c, 1 + c % 3, 3, 4);
            inputs.add(x);
            results.add(callers.submit(() -> b.forward(Modality.TENSOR, x)));
        }
        awaitQueued(b, 16);
        model.release.countDown();
        assertEquals(first.mul(2).addi(1), held.get(10, TimeUnit.SECONDS));
        for (int c = 0; c < 16; c++) {
            assertEquals(inputs.get(c).mul(2).addi(1), results.get(c).get(10, TimeUnit.SECONDS),
                    "caller " + c + " gets exactly its own rows");
        }
        assertEquals(2, model.seen.size(), "one held call, then one call for all sixteen");
        long rows = 0;
        for (int c = 0; c < 16; c++) {
            rows += 1 + c % 3;
        }
        assertEquals(rows, model.seen.get(1).size(0));
    }

    @ParameterizedTest(name = "{0} dispatcher(s)")
    @ValueSource(ints = {1, 3})
    void manyRoundsUnderConcurrencyKeepEveryCallersRows(int dispatchers) throws Exception {
        Gated model = recording(false);
        BatchingNeuron b = batching(model, 64, Duration.ofSeconds(10), dispatchers);
        List<Future<?>> done = new ArrayList<>();
        for (int c = 0; c < 12; c++) {
            int caller = c;
            done.add(callers.submit(() -> {
                for (int i = 0; i < 40; i++) {
                    INDArray x = input(caller * 50 + i, 1 + (caller + i) % 4, 2, 3);
                    assertEquals(x.mul(2).addi(1), b.forward(Modality.TENSOR, x));
                }
                return null;
            }));
        }
        for (Future<?> f : done) {
            f.get(60, TimeUnit.SECONDS);
        }
        long rows = model.seen.stream().mapToLong(a -> a.size(0)).sum();
        assertEquals(12 * 40 * 2.5, rows, 0.0, "every row went through the model exactly once");
        assertTrue(model.seen.stream().allMatch(a -> a.size(0) <= 64), "no batch above maxBatchRows");
    }

    @Test
    void inputsOfDifferentKindsAreNeverMerged() throws Exception {
        Gated model = recording(true);
        BatchingNeuron b = batching(model, 256, Duration.ofSeconds(10));
        Future<INDArray> held = holdFirst(b, model, input(0, 1, 3, 4));
        INDArray[] xs = {
            input(1, 2, 3, 4), input(2, 2, 5, 4), input(3, 1, 3, 4).castTo(DataType.DOUBLE),
            input(4, 3, 3, 4), input(5, 1, 1, 3, 4),
        };
        Modality[] ms = {Modality.TENSOR, Modality.TENSOR, Modality.TENSOR, Modality.IMAGE, Modality.TENSOR};
        List<Future<INDArray>> results = new ArrayList<>();
        for (int i = 0; i < xs.length; i++) {
            INDArray x = xs[i];
            Modality m = ms[i];
            results.add(callers.submit(() -> b.forward(m, x)));
        }
        awaitQueued(b, xs.length);
        model.release.countDown();
        held.get(10, TimeUnit.SECONDS);
        for (int i = 0; i < xs.length; i++) {
            assertEquals(xs[i].mul(2).addi(1), results.get(i).get(10, TimeUnit.SECONDS), "input " + i);
        }
        assertEquals(1 + xs.length, model.seen.size(), "five kinds: five calls after the held one");
    }

    @Test
    void maxBatchRowsBoundsEveryCall() throws Exception {
        Gated model = recording(true);
        BatchingNeuron b = batching(model, 4, Duration.ofSeconds(10));
        Future<INDArray> held = holdFirst(b, model, input(0, 1, 2));
        List<Future<INDArray>> results = new ArrayList<>();
        List<INDArray> xs = new ArrayList<>();
        for (int c = 1; c <= 6; c++) {
            INDArray x = input(c, 2, 2);
            xs.add(x);
            results.add(callers.submit(() -> b.forward(Modality.TENSOR, x)));
        }
        INDArray big = input(7, 9, 2); // larger than a batch: runs alone
        Future<INDArray> alone = callers.submit(() -> b.forward(Modality.TENSOR, big));
        awaitQueued(b, 7);
        model.release.countDown();
        held.get(10, TimeUnit.SECONDS);
        for (int i = 0; i < xs.size(); i++) {
            assertEquals(xs.get(i).mul(2).addi(1), results.get(i).get(10, TimeUnit.SECONDS));
        }
        assertEquals(big.mul(2).addi(1), alone.get(10, TimeUnit.SECONDS));
        assertTrue(model.seen.stream().filter(a -> a.size(0) != 9).allMatch(a -> a.size(0) <= 4));
        assertEquals(1 + 3 + 1, model.seen.size(), "held, three calls of 4 rows, the big one");
    }

    @Test
    void aCallerWhoseCallIsCancelledWhileQueuedNeverReachesTheModel() throws Exception {
        Gated model = recording(true);
        BatchingNeuron b = batching(model, 256, Duration.ofSeconds(10));
        Future<INDArray> held = holdFirst(b, model, input(0, 1, 2));
        Context.CancellableContext call = Context.current().withCancellation();
        INDArray gone = input(66, 2, 2);
        Future<INDArray> cancelled = callers.submit(() -> call.call(() -> b.forward(Modality.TENSOR, gone)));
        INDArray kept = input(7, 2, 2);
        Future<INDArray> stays = callers.submit(() -> b.forward(Modality.TENSOR, kept));
        awaitQueued(b, 2);
        call.cancel(null); // what gRPC does when the caller's deadline passes or it hangs up
        ExecutionException e = assertThrows(ExecutionException.class, () -> cancelled.get(10, TimeUnit.SECONDS));
        assertTrue(e.getCause() instanceof IllegalStateException, e.toString());
        model.release.countDown();
        held.get(10, TimeUnit.SECONDS);
        assertEquals(kept.mul(2).addi(1), stays.get(10, TimeUnit.SECONDS));
        assertFalse(model.seen.stream().anyMatch(a -> a.maxNumber().doubleValue() >= 66_000),
                "the cancelled caller's rows were never computed");
    }

    @Test
    void callersThatWaitTooLongToBeTakenFailAndTheirRowsAreSkipped() throws Exception {
        Gated model = recording(true);
        BatchingNeuron b = batching(model, 256, Duration.ofMillis(200));
        Future<INDArray> held = holdFirst(b, model, input(0, 1, 2));
        List<Future<INDArray>> late = new ArrayList<>();
        for (int c = 1; c <= 3; c++) {
            INDArray x = input(50 + c, 1, 2);
            late.add(callers.submit(() -> b.forward(Modality.TENSOR, x)));
        }
        for (Future<INDArray> f : late) {
            ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS));
            assertTrue(e.getCause().getMessage().contains("no batch took"), e.getCause().getMessage());
        }
        model.release.countDown();
        assertEquals(input(0, 1, 2).mul(2).addi(1), held.get(10, TimeUnit.SECONDS),
                "the call already running still answers, past maxQueueWait");
        INDArray after = input(9, 2, 2);
        assertEquals(after.mul(2).addi(1), b.forward(Modality.TENSOR, after));
        assertFalse(model.seen.stream().anyMatch(a -> a.maxNumber().doubleValue() >= 50_000),
                "timed-out rows were never computed");
    }

    @Test
    void theModelsExceptionReachesEveryCallerOfTheBatch() throws Exception {
        Gated failing = new Gated(true, x -> {
            throw new ArithmeticException("boom");
        });
        BatchingNeuron b = batching(failing, 256, Duration.ofSeconds(10));
        List<Future<INDArray>> fs = new ArrayList<>();
        fs.add(holdFirst(b, failing, input(0, 1, 2)));
        for (int c = 1; c <= 3; c++) {
            INDArray x = input(c, 1, 2);
            fs.add(callers.submit(() -> b.forward(Modality.TENSOR, x)));
        }
        awaitQueued(b, 3);
        failing.release.countDown();
        for (Future<INDArray> f : fs) {
            ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS));
            assertTrue(e.getCause() instanceof ArithmeticException, e.toString());
        }
        assertThrows(UnsupportedModalityException.class, () -> b.forward(Modality.TEXT, input(1, 1, 2)),
                "the neuron's own modality refusal passes through unchanged");
    }

    @Test
    void aModelThatLosesRowsFailsEveryCaller() throws Exception {
        Gated lossy = new Gated(true, x -> Nd4j.zeros(DataType.FLOAT, 1, 2));
        BatchingNeuron b = batching(lossy, 256, Duration.ofSeconds(10));
        Future<INDArray> first = holdFirst(b, lossy, input(0, 1, 2));
        List<Future<INDArray>> fs = new ArrayList<>();
        for (int c = 1; c <= 3; c++) {
            INDArray x = input(c, 1, 2);
            fs.add(callers.submit(() -> b.forward(Modality.TENSOR, x)));
        }
        awaitQueued(b, 3);
        lossy.release.countDown();
        first.get(10, TimeUnit.SECONDS); // alone: the neuron's answer as it is (the Axon checks shapes)
        for (Future<INDArray> f : fs) {
            ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS));
            assertTrue(e.getCause().getMessage().contains("for a batch of 3 rows"), e.getCause().getMessage());
        }
    }

    @Test
    void closeFailsQueuedCallersAndEndsItsThread() throws Exception {
        Gated model = recording(true);
        BatchingNeuron b = batching(model, 256, Duration.ofSeconds(10));
        Future<INDArray> held = holdFirst(b, model, input(0, 1, 2));
        Future<INDArray> queued = callers.submit(() -> b.forward(Modality.TENSOR, input(1, 1, 2)));
        awaitQueued(b, 1);
        Thread closer = new Thread(b::close);
        closer.start();
        ExecutionException e = assertThrows(ExecutionException.class, () -> queued.get(10, TimeUnit.SECONDS));
        assertTrue(e.getCause() instanceof IllegalStateException, e.toString());
        model.release.countDown();
        closer.join(10_000);
        assertFalse(closer.isAlive());
        held.get(10, TimeUnit.SECONDS); // the running call finishes
        assertThrows(IllegalStateException.class, () -> b.forward(Modality.TENSOR, input(2, 1, 2)));
        assertTrue(Thread.getAllStackTraces().keySet().stream()
                .noneMatch(t -> t.isAlive() && b.threadNames().contains(t.getName())), "dispatcher thread ended");
    }

    @Test
    void twoDispatchersRunASecondMergedCallWhileTheFirstIsInTheModel() throws Exception {
        Gated model = recording(true);
        BatchingNeuron b = BatchingNeuron.builder(model).maxBatchRows(4 * 2).maxWait(Duration.ofSeconds(5))
                .dispatchers(2).build();
        opened.add(b);
        INDArray first = input(99, 1, 3);
        Future<INDArray> held = holdFirst(b, model, first);
        List<INDArray> inputs = new ArrayList<>();
        List<Future<INDArray>> results = new ArrayList<>();
        for (int c = 0; c < 4; c++) {
            INDArray x = input(c, 2, 3);
            inputs.add(x);
            results.add(callers.submit(() -> b.forward(Modality.TENSOR, x)));
        }
        // The second dispatcher merges the four (8 rows = maxBatchRows) while the first call is held.
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (model.seen.size() < 2) {
            assertTrue(System.nanoTime() < end, "a second merged call reached the model beside the held one");
            Thread.sleep(2);
        }
        for (int c = 0; c < 4; c++) {
            assertFalse(results.get(c).isDone(), "the second call is held in the model too");
        }
        model.release.countDown();
        assertEquals(first.mul(2).addi(1), held.get(10, TimeUnit.SECONDS));
        for (int c = 0; c < 4; c++) {
            assertEquals(inputs.get(c).mul(2).addi(1), results.get(c).get(10, TimeUnit.SECONDS),
                    "caller " + c + " gets exactly its own rows");
        }
        assertEquals(2, model.seen.size(), "the held call and one merged call of all four");
        assertEquals(8, model.seen.get(1).size(0));
    }

    @Test
    void closeEndsEveryDispatcherAndFailsWhatIsQueued() throws Exception {
        Gated model = recording(true);
        BatchingNeuron b = batching(model, 1, Duration.ofSeconds(10), 3);
        assertEquals(3, b.threadNames().size());
        List<Future<INDArray>> fs = new ArrayList<>();
        for (int c = 0; c < 6; c++) {
            INDArray x = input(c, 1, 2);
            fs.add(callers.submit(() -> b.forward(Modality.TENSOR, x)));
        }
        awaitQueued(b, 3); // three held in the model (one row a batch), three queued
        Thread closer = new Thread(b::close); // interrupts the three in the model: they answer early
        closer.start();
        closer.join(10_000);
        model.release.countDown();
        long failed = 0;
        assertFalse(closer.isAlive());
        for (Future<INDArray> f : fs) {
            try {
                f.get(10, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                assertTrue(e.getCause() instanceof IllegalStateException, e.toString());
                failed++;
            }
        }
        assertEquals(3, failed, "the three queued callers failed, the three running ones answered");
        assertTrue(Thread.getAllStackTraces().keySet().stream()
                .noneMatch(t -> t.isAlive() && b.threadNames().contains(t.getName())), "every dispatcher ended");
    }

    @Test
    void dispatchersMustBePositive() {
        Gated model = recording(false);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BatchingNeuron.builder(model).dispatchers(0));
        assertTrue(e.getMessage().contains("dispatchers"), e.getMessage());
    }
}
