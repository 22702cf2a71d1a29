package io.bittensor.neuron;

import io.bittensor.proto.Modality;
import io.bittensor.proto.ServedInput;
import io.grpc.Context;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Server-side batching (hivemind's task pool; the original peer had none): concurrent Forwards
 * to one neuron are merged into one model call, and each caller gets exactly its own rows back.
 *
 * <p>Callers of {@link #forward} (an Axon's workers) queue their inputs and wait. A dispatcher
 * thread takes the oldest waiting input, adds every other queued input of the same modality,
 * dtype and trailing shape while the batch stays within {@code maxBatchRows}, waiting at most
 * {@code maxWait} for more to arrive, concatenates them along the batch dimension, calls the
 * wrapped neuron once, and hands each caller its slice. Small models pay mostly per call, so one
 * call of 128 rows costs less than sixteen of 8 (docs/benchmarks.md).
 *
 * <p>{@code dispatchers} threads (default one) run merged calls at once, as an Axon's workers run
 * unmerged ones: with one, a merged call has one core where unmerged calls had several. They take
 * turns at forming batches (one collects while the others run the model), so a batch holds
 * everything that queued while the previous one formed rather than being split among idle
 * dispatchers. (Two showed no gain over one in {@code BatchingBench} on a 2-core machine, where
 * the model is not most of a Forward's cost; docs/benchmarks.md.)
 *
 * <p>A caller that gives up (its gRPC call is cancelled or past its deadline, or
 * {@code maxQueueWait} passes) while its input is still queued is removed and never reaches the
 * model. Once the dispatcher has taken an input, its caller waits for the result: the input may
 * be in use until the model returns (the Axon reuses input arrays after a call).
 *
 * <p>Backward is not batched: it passes straight through (merging would queue one parameter
 * gradient for many callers, changing how a neuron averages them). Everything but
 * {@code forward} passes through too. Not for neurons whose rows depend on each other (batch
 * norm in training mode): a row's output must not depend on the other rows of its batch.
 *
 * <p>Owns its dispatcher threads; {@link #close()} stops them and fails whatever is still queued.
 * The wrapped neuron is not closed.
 */
public final class BatchingNeuron implements Neuron, AutoCloseable {
    private static final AtomicInteger INSTANCES = new AtomicInteger();

    private final Neuron delegate;
    private final int maxBatchRows;
    private final long maxWaitNanos;
    private final long maxQueueWaitNanos;
    private final LinkedBlockingQueue<Pending> queue;
    /** Held while a dispatcher forms a batch: one batch forms at a time. */
    private final ReentrantLock collecting = new ReentrantLock();
    /** Taken from the queue but did not fit the last batch: first in line for the next (guarded by collecting). */
    private final ArrayDeque<Pending> carried = new ArrayDeque<>();
    private final List<Thread> dispatchers;
    private volatile boolean closed;

    private BatchingNeuron(Builder b) {
        this.delegate = b.delegate;
        this.maxBatchRows = b.maxBatchRows;
        this.maxWaitNanos = b.maxWait.toNanos();
        this.maxQueueWaitNanos = b.maxQueueWait.toNanos();
        this.queue = new LinkedBlockingQueue<>(b.maxQueued);
        int instance = INSTANCES.incrementAndGet();
        List<Thread> threads = new ArrayList<>(b.dispatchers);
        for (int i = 0; i < b.dispatchers; i++) {
            Thread t = new Thread(this::dispatch, "batching-neuron-" + instance + "-" + i);
            t.setDaemon(true);
            threads.add(t);
        }
        this.dispatchers = List.copyOf(threads);
        dispatchers.forEach(Thread::start);
    }

    /** Batching for {@code neuron}, with defaults (see {@link Builder}). */
    public static Builder builder(Neuron neuron) {
        return new Builder(neuron);
    }

    /** What the wrapped neuron serves: batching changes nothing a router needs to know. */
    @Override
    public List<ServedInput> serves() {
        return delegate.serves();
    }

    @Override
    public INDArray forward(Modality modality, INDArray inputs) {
        if (closed) {
            throw new IllegalStateException("batching neuron closed");
        }
        Pending p = new Pending(modality, inputs);
        if (!queue.offer(p)) {
            throw new IllegalStateException("batch queue full (" + queue.size() + " waiting)");
        }
        Context ctx = Context.current();
        Context.CancellationListener onCancel = c -> p.abandon(); // deadline passed, client gone
        ctx.addListener(onCancel, Runnable::run);
        try {
            return await(p);
        } finally {
            ctx.removeListener(onCancel);
        }
    }

    private INDArray await(Pending p) {
        try {
            try {
                return p.result.get(maxQueueWaitNanos, TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                if (p.abandon()) {
                    throw new IllegalStateException("no batch took this input within "
                            + Duration.ofNanos(maxQueueWaitNanos).toMillis() + " ms");
                }
                return p.result.get(); // taken: the model is using the input, wait for it
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            if (p.abandon()) {
                throw new IllegalStateException("interrupted while queued for a batch", e);
            }
            return p.result.join(); // taken: the input is in use until the model returns
        } catch (CancellationException e) {
            throw new IllegalStateException("the caller gave up before its batch ran", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException r) {
                throw r;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException(cause);
        }
    }

    @Override
    public INDArray backward(Modality modality, INDArray inputs, INDArray gradOutputs) {
        return delegate.backward(modality, inputs, gradOutputs);
    }

    /** Stops the dispatchers; queued callers fail, batches already running finish. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        dispatchers.forEach(Thread::interrupt);
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        try {
            for (Thread t : dispatchers) {
                t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(end - System.nanoTime())));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        collecting.lock();
        try {
            for (Pending p; (p = carried.poll()) != null; ) {
                if (p.abandon()) {
                    p.result.completeExceptionally(new IllegalStateException("batching neuron closed"));
                }
            }
        } finally {
            collecting.unlock();
        }
        failQueued();
    }

    /** Inputs waiting to be taken into a batch (for tests). */
    int queued() {
        return queue.size();
    }

    /** The dispatcher threads' names (for tests). */
    List<String> threadNames() {
        return dispatchers.stream().map(Thread::getName).toList();
    }

    private void failQueued() {
        Pending p;
        while ((p = queue.poll()) != null) {
            if (p.abandon()) {
                p.result.completeExceptionally(new IllegalStateException("batching neuron closed"));
            }
        }
    }

    // --------------------------------------------------------------------------- dispatcher

    private void dispatch() {
        try {
            while (!closed) {
                List<Pending> batch;
                collecting.lockInterruptibly();
                try {
                    Pending first = carried.isEmpty() ? queue.take() : carried.poll();
                    if (!first.take()) {
                        continue; // its caller gave up
                    }
                    batch = collect(first);
                } finally {
                    collecting.unlock();
                }
                run(batch);
            }
        } catch (InterruptedException e) {
            // closing: close() fails what is still queued or carried
        }
    }

    /** {@code first} plus what fits beside it: the carried-over inputs, then the queue (under collecting). */
    private List<Pending> collect(Pending first) throws InterruptedException {
        List<Pending> batch = new ArrayList<>();
        batch.add(first);
        long rows = first.rows;
        for (Iterator<Pending> it = carried.iterator(); it.hasNext() && rows < maxBatchRows; ) {
            Pending p = it.next();
            if (p.fits(first, rows, maxBatchRows)) {
                it.remove();
                if (p.take()) {
                    batch.add(p);
                    rows += p.rows;
                }
            }
        }
        long deadline = System.nanoTime() + maxWaitNanos;
        while (rows < maxBatchRows) {
            Pending p = queue.poll(); // whatever is already here first, without waiting
            if (p == null) {
                long left = deadline - System.nanoTime();
                try {
                    if (left <= 0 || (p = queue.poll(left, TimeUnit.NANOSECONDS)) == null) {
                        break;
                    }
                } catch (InterruptedException e) {
                    // Closing: taken inputs would otherwise leave their callers waiting for ever.
                    for (Pending taken : batch) {
                        taken.result.completeExceptionally(new IllegalStateException("batching neuron closed"));
                    }
                    throw e;
                }
            }
            if (!p.fits(first, rows, maxBatchRows)) {
                carried.add(p); // another kind, or too many rows: first in line for a later batch
                continue;
            }
            if (p.take()) {
                batch.add(p);
                rows += p.rows;
            }
        }
        return batch;
    }

    private void run(List<Pending> batch) {
        try {
            INDArray out;
            if (batch.size() == 1) {
                out = delegate.forward(batch.get(0).modality, batch.get(0).inputs);
                batch.get(0).result.complete(out);
                return;
            }
            INDArray[] parts = new INDArray[batch.size()];
            for (int i = 0; i < parts.length; i++) {
                parts[i] = batch.get(i).inputs;
            }
            INDArray merged = Nd4j.concat(0, parts);
            out = delegate.forward(batch.get(0).modality, merged);
            long total = merged.size(0);
            if (out == null || out.rank() < 1 || out.size(0) != total) {
                throw new IllegalStateException("the neuron returned "
                        + (out == null ? "null" : Arrays.toString(out.shape()))
                        + " for a batch of " + total + " rows");
            }
            long offset = 0;
            for (Pending p : batch) {
                p.result.complete(rows(out, offset, p.rows));
                offset += p.rows;
            }
            merged.close();
        } catch (RuntimeException | Error e) {
            // Each caller rethrows it; the Axon answers MODEL_ERROR (or UNSUPPORTED_MODALITY).
            for (Pending p : batch) {
                p.result.completeExceptionally(e);
            }
        }
    }

    /** Rows [offset, offset + n) of {@code out}, as an array of their own. */
    private static INDArray rows(INDArray out, long offset, long n) {
        INDArrayIndex[] idx = new INDArrayIndex[out.rank()];
        idx[0] = NDArrayIndex.interval(offset, offset + n);
        for (int i = 1; i < idx.length; i++) {
            idx[i] = NDArrayIndex.all();
        }
        return out.get(idx).dup('c');
    }

    /** One caller's input and its answer. QUEUED -> TAKEN (dispatcher) or ABANDONED (caller). */
    private static final class Pending {
        private static final int QUEUED = 0;
        private static final int TAKEN = 1;
        private static final int ABANDONED = 2;

        final Modality modality;
        final INDArray inputs;
        final long rows;
        final CompletableFuture<INDArray> result = new CompletableFuture<>();
        private final AtomicInteger state = new AtomicInteger(QUEUED);

        Pending(Modality modality, INDArray inputs) {
            this.modality = Objects.requireNonNull(modality, "modality");
            this.inputs = Objects.requireNonNull(inputs, "inputs");
            if (inputs.rank() < 1) {
                throw new IllegalArgumentException("inputs need a batch dimension");
            }
            this.rows = inputs.size(0);
        }

        boolean take() {
            return state.compareAndSet(QUEUED, TAKEN);
        }

        /** True if the input never reached (and now never will reach) the model. */
        boolean abandon() {
            if (state.compareAndSet(QUEUED, ABANDONED)) {
                result.cancel(false);
                return true;
            }
            return state.get() == ABANDONED;
        }

        boolean sameKind(Pending o) {
            if (modality != o.modality || inputs.dataType() != o.inputs.dataType()
                    || inputs.rank() != o.inputs.rank()) {
                return false;
            }
            for (int i = 1; i < inputs.rank(); i++) {
                if (inputs.size(i) != o.inputs.size(i)) {
                    return false;
                }
            }
            return true;
        }

        boolean fits(Pending first, long rowsSoFar, long maxRows) {
            return sameKind(first) && rowsSoFar + rows <= maxRows;
        }
    }

    /** Settings; {@link #build()} starts the dispatcher thread. */
    public static final class Builder {
        private final Neuron delegate;
        private int maxBatchRows = 256;
        private Duration maxWait = Duration.ofMillis(1);
        private Duration maxQueueWait = Duration.ofSeconds(10);
        private int maxQueued = 1024;
        private int dispatchers = 1;

        private Builder(Neuron delegate) {
            this.delegate = Objects.requireNonNull(delegate, "neuron");
        }

        /** Rows one model call takes at most (one caller's larger input runs alone); default 256. */
        public Builder maxBatchRows(int rows) {
            if (rows < 1) {
                throw new IllegalArgumentException("maxBatchRows must be >= 1, got " + rows);
            }
            this.maxBatchRows = rows;
            return this;
        }

        /**
         * How long a batch waits for more inputs after its first (what is already queued is
         * taken at once); default 1 ms. Zero: only what is already queued.
         */
        public Builder maxWait(Duration wait) {
            if (wait.isNegative()) {
                throw new IllegalArgumentException("maxWait must be >= 0");
            }
            this.maxWait = wait;
            return this;
        }

        /** How long an input may wait to be taken into a batch before its caller fails; default 10 s. */
        public Builder maxQueueWait(Duration wait) {
            if (wait.isNegative() || wait.isZero()) {
                throw new IllegalArgumentException("maxQueueWait must be > 0");
            }
            this.maxQueueWait = wait;
            return this;
        }

        /** Inputs waiting at most; past that a caller fails at once; default 1024. */
        public Builder maxQueued(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("maxQueued must be >= 1, got " + n);
            }
            this.maxQueued = n;
            return this;
        }

        /**
         * Threads running merged calls at once; default 1 (the largest batches, one model call at a
         * time). More lets merged calls use more cores when the model is most of the cost.
         */
        public Builder dispatchers(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("dispatchers must be >= 1, got " + n);
            }
            this.dispatchers = n;
            return this;
        }

        public BatchingNeuron build() {
            return new BatchingNeuron(this);
        }
    }
}
