package io.bittensor.runtime;

import io.bittensor.neuron.Neuron;
import io.bittensor.proto.Modality;
import io.bittensor.proto.Synapse;
import io.bittensor.router.PendingRoute;
import io.bittensor.router.Router;
import io.bittensor.router.RouterGradients;
import io.bittensor.router.RouterCall;
import io.bittensor.session.NeuronSession;
import java.util.List;
import java.util.Random;
import java.util.function.Predicate;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One training step with the network as context, as the original's
 * {@code synapse.forward(query=True)}, through the core {@link Router}:
 *
 * <pre>
 * routerContext(inputs) [b,d] ─ gate (keys of metagraph.synapses()) ─ top-k gates [b,n]
 * remoteInputs(inputs) [b,1,…] ─ dispatch ─ Dendrite Forward (the model's modality) to the peers
 *   that got rows ─ combine (failed peers' weight renormalized away) ─ network [b,1,512]
 * model.trainWithNetwork(batch, network) → loss, d loss / d network
 *   ─ combineBackward ─ d gates → gate step;  per-peer d outputs → Dendrite Backward
 * </pre>
 *
 * The synapse list is the metagraph's, ours included (as the original): a neuron alone still
 * routes to itself, so training always takes the same kind of step. It sends no Backward to its
 * own synapse: that gradient would train a stale served copy of the model on the model's own
 * loss and come back through the queue, a second backward pass per step (as costly as the
 * training step itself) for a signal the training step already gives (the original sends no
 * Backward at all). The gate's step and Backward to the peers run on one background thread (at
 * most two steps waiting; older ones are dropped, gate step included) so the training thread
 * neither waits a second round trip nor computes the gate's gradient. An early route's gating,
 * dispatch and calls run on a second background thread, while this step trains; so does its
 * router context when the model offers a {@link NeuronModel#contextSnapshot() snapshot} of it
 * (else the context is computed on the training thread, the only one that may read the model).
 */
public final class NetworkStep implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(NetworkStep.class);
    /** Steps between refreshes of the router's key set from the metagraph. */
    private static final int RETAIN_EVERY = 100;

    private final NeuronSession session;
    private final Router router;
    private final ThreadPoolExecutor routing;
    private final ThreadPoolExecutor backward;
    private final Predicate<Synapse> notSelf;
    private final StepPhases phases = new StepPhases();
    private int steps;
    private Early early; // the next batch, already routed

    /** What one step did: the model's step, synapses known, peers called, peers that answered. */
    public record Result(StepResult step, int peers, int called, int answered) {}

    /**
     * @param contextDim the model's {@link NeuronModel#contextDim()}
     * @param seed       seeds the router's keys and noise
     * @param topK       peers each example is routed to, at most
     */
    public NetworkStep(NeuronSession session, int contextDim, long seed, int topK) {
        this(session, contextDim, seed, topK, null);
    }

    /**
     * @param selfSynapseKey the synapse this neuron serves its model under: routed to like any
     *                       peer, but never sent Backward (see the class comment); null for none
     */
    public NetworkStep(NeuronSession session, int contextDim, long seed, int topK, String selfSynapseKey) {
        this.session = session;
        this.notSelf = selfSynapseKey == null ? s -> true : s -> !selfSynapseKey.equals(s.getSynapseKey());
        this.router = Router.builder(contextDim, session.dendrite()).topK(topK).random(new Random(seed)).build();
        // At most one early route is pending at a time (the next call awaits it), so a small
        // queue is never full.
        this.routing = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new ArrayBlockingQueue<>(2), r -> {
            Thread t = new Thread(r, "network-route");
            t.setDaemon(true);
            return t;
        });
        this.backward = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new ArrayBlockingQueue<>(2), r -> {
            Thread t = new Thread(r, "network-backward");
            t.setDaemon(true);
            return t;
        }, NetworkStep::dropOldest);
    }

    /** Routes the batch, trains {@code model} with the answer, and sends the peers their gradients. */
    public Result train(NeuronModel model, Batch batch) {
        return train(model, batch, null);
    }

    /**
     * As {@link #train(NeuronModel, Batch)}, and routes {@code next} (the batch the caller will
     * train next) before training on this one, so that the peers compute its answer while this
     * step trains: the wait for the network leaves the critical path. The next batch's router
     * context is then taken from the model one step earlier, and its gate one update earlier; a
     * pipeline of depth one, as asynchronous SGD. When the following call's batch is not
     * {@code next} (same instance), the early route is dropped and that batch routed at once.
     *
     * @param next the next batch, or null (last step, or no prefetch wanted)
     */
    public Result train(NeuronModel model, Batch batch, Batch next) {
        List<Synapse> synapses = session.synapses();
        if (++steps % RETAIN_EVERY == 1) {
            router.retain(synapses.stream().map(Synapse::getSynapseKey).toList());
        }
        long b = batch.inputs().size(0);
        Early early = this.early;
        this.early = null;
        Early current = early != null && early.batch() == batch ? early : route(model, batch, synapses, false);
        if (next != null) {
            this.early = route(model, next, synapses, true);
        }
        long t0 = System.nanoTime();
        RouterCall call = current.pending().await();
        session.remoteCalls().recordForward(call.results());
        long t1 = System.nanoTime();

        StepResult r = model.trainWithNetwork(batch, call.output());
        long t2 = System.nanoTime();

        // [b, 512] for a model that answers per example, [b, seq, 512] per token (the text model).
        INDArray grad = r.networkGrad().reshape('c', b, -1, Neuron.NETWORK_DIM);
        // The gate's gradient and update, and the peers' Backward, off the training thread: one
        // pass computes the gate's part for both.
        boolean toPeers = answeredOtherThanSelf(call);
        backward.execute(new Finish(call, grad, toPeers));
        long t3 = System.nanoTime();
        phases.add(StepPhases.Phase.WAIT, t1 - t0);
        phases.add(StepPhases.Phase.TRAIN, t2 - t1);
        phases.add(StepPhases.Phase.GATE, t3 - t2);
        phases.stepDone();
        return new Result(r, current.peers(), call.called().size(), call.answeredCount());
    }

    private boolean answeredOtherThanSelf(RouterCall call) {
        for (int e : call.called()) {
            if (call.answered(e) && notSelf.test(call.synapses().get(e))) {
                return true;
            }
        }
        return false;
    }

    /**
     * A batch whose routing has started; {@code peers} = synapses known when it was routed.
     * {@code route} completes once the gate has run and the peers have been called.
     */
    private record Early(Batch batch, Future<PendingRoute> route, int peers) {
        /** The pending route, once the routing thread has called the peers. */
        PendingRoute pending() {
            try {
                return route.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while routing", e);
            } catch (ExecutionException e) {
                if (e.getCause() instanceof RuntimeException r) {
                    throw r;
                }
                throw new IllegalStateException("routing failed", e.getCause());
            }
        }
    }

    /**
     * Computes the batch's router context and then gates, dispatches and calls its peers: on the
     * routing thread when {@code async}, so that an early route overlaps this thread's training
     * step (gating, encoding and signing take a few ms per step that the second core can do),
     * else here. An early route's context is computed there too when the model offers a
     * {@link NeuronModel#contextSnapshot() snapshot} (taken here, between steps); otherwise here,
     * the only thread that may read the model.
     */
    private Early route(NeuronModel model, Batch batch, List<Synapse> synapses, boolean async) {
        long t0 = System.nanoTime();
        INDArray inputs = batch.inputs();
        INDArray remote = model.remoteInputs(inputs);
        Modality modality = model.modality();
        ContextSnapshot snapshot = async ? model.contextSnapshot() : null;
        INDArray context = snapshot == null ? model.routerContext(inputs) : null;
        long t1 = System.nanoTime();
        phases.add(StepPhases.Phase.CONTEXT, t1 - t0);
        Future<PendingRoute> route;
        if (async) {
            try {
                route = routing.submit(() -> router.route(context != null ? context : computeAndClose(snapshot, inputs),
                        remote, modality, synapses));
            } catch (RejectedExecutionException e) { // closed meanwhile
                if (snapshot != null) {
                    snapshot.close();
                }
                throw e;
            }
        } else {
            route = CompletableFuture.completedFuture(router.route(context, remote, modality, synapses));
        }
        phases.add(StepPhases.Phase.ROUTE, System.nanoTime() - t1);
        return new Early(batch, route, synapses.size());
    }

    private static INDArray computeAndClose(ContextSnapshot snapshot, INDArray inputs) {
        try (snapshot) {
            return snapshot.compute(inputs);
        }
    }

    /** Gate updates skipped so far because their gradient held NaN or infinity. */
    public int gateStepsSkipped() {
        return router.gate().nonFiniteSkipped();
    }

    /** Where this trainer's steps spent their time since the last reset; training thread only. */
    public StepPhases phases() {
        return phases;
    }

    /**
     * The gate's step for a call and, when a peer other than ourselves answered, the peers'
     * gradients for their rows through Dendrite Backward; then the call is closed, which gives
     * its replies' buffers back to the Dendrite for the next step's replies.
     */
    private final class Finish implements Runnable {
        private final RouterCall call;
        private final INDArray grad;
        private final boolean toPeers;

        Finish(RouterCall call, INDArray grad, boolean toPeers) {
            this.call = call;
            this.grad = grad;
            this.toPeers = toPeers;
        }

        @Override
        public void run() {
            try {
                RouterGradients g = call.backward(grad, toPeers ? notSelf : null);
                router.apply(g);
                if (toPeers) {
                    session.remoteCalls().recordBackward(g.peerResults());
                }
            } catch (IllegalStateException e) {
                LOG.debug("backward skipped: {}", e.getMessage()); // the session closed meanwhile
            } catch (RuntimeException e) {
                LOG.warn("backward to {} peer(s) failed: {}", call.called().size(), e.toString());
            } finally {
                discard();
            }
        }

        /** Closes the call without its gate step or Backward (dropped, or never run). */
        void discard() {
            if (call.dendriteCall() != null) {
                call.dendriteCall().close();
            }
        }
    }

    /** The Backward queue is full: the oldest step waiting is dropped (its call closed) for the newest. */
    private static void dropOldest(Runnable newest, ThreadPoolExecutor executor) {
        if (executor.isShutdown()) {
            discard(newest);
            return;
        }
        discard(executor.getQueue().poll());
        executor.execute(newest);
    }

    private static void discard(Runnable task) {
        if (task instanceof Finish f) {
            f.discard();
        }
    }

    /** Stops the routing and Backward threads (waiting up to 5 s each for work in flight). */
    @Override
    public void close() {
        early = null; // its calls end by their deadline; nothing is sent back
        routing.shutdownNow();
        backward.shutdownNow().forEach(NetworkStep::discard);
        try {
            if (!backward.awaitTermination(5, TimeUnit.SECONDS)) {
                LOG.warn("a Backward call was still running after 5 s");
            }
            if (!routing.awaitTermination(5, TimeUnit.SECONDS)) {
                LOG.warn("routing was still running after 5 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
