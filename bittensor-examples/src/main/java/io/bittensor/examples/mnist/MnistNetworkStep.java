package io.bittensor.examples.mnist;

import io.bittensor.neuron.Neuron;
import io.bittensor.proto.Modality;
import io.bittensor.proto.Synapse;
import io.bittensor.router.Router;
import io.bittensor.router.RouterCall;
import io.bittensor.session.NeuronSession;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One training step of the MNIST neuron with the network as context, as the original's
 * {@code MnistSynapse.forward(query=True)}, through the core {@link Router}:
 *
 * <pre>
 * transform [b,320] ─ gate (keys of metagraph.synapses()) ─ top-k gates [b,n]
 * images [b,1,1,28,28] ─ dispatch ─ Dendrite Forward (IMAGE) to the peers that got rows
 *   ─ combine (failed peers' weight renormalized away) ─ network [b,1,512]
 * model.trainWithNetwork(images, labels, network) → loss, d loss / d network
 *   ─ combineBackward ─ d gates → gate step;  per-peer d outputs → Dendrite Backward
 * </pre>
 *
 * The synapse list is the metagraph's, ours included (as the original): a neuron alone still
 * routes to itself, so training always takes the same kind of step. Backward to the peers runs on
 * one background thread (at most two calls waiting; older ones are dropped) so the training
 * thread does not wait a second round trip per step.
 */
final class MnistNetworkStep implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(MnistNetworkStep.class);

    private final NeuronSession session;
    private final Router router;
    private final ThreadPoolExecutor backward;
    private int steps;

    MnistNetworkStep(NeuronSession session, long seed, int topK) {
        this.session = session;
        this.router = Router.builder(MnistModel.TRANSFORM_DIM, session.dendrite()).topK(topK)
                .random(new Random(seed)).build();
        this.backward = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new ArrayBlockingQueue<>(2), r -> {
            Thread t = new Thread(r, "mnist-backward");
            t.setDaemon(true);
            return t;
        }, new ThreadPoolExecutor.DiscardOldestPolicy());
    }

    /** What one step did. */
    record Result(MnistModel.StepResult step, int peers, int called, int answered) {}

    Result train(MnistModel model, INDArray images, INDArray labels) {
        List<Synapse> synapses = session.synapses();
        if (++steps % 100 == 1) {
            router.retain(synapses.stream().map(Synapse::getSynapseKey).toList());
        }
        long b = images.size(0);
        RouterCall call = router.forward(model.transform(images),
                images.reshape('c', b, 1, 1, MnistSplit.ROWS, MnistSplit.COLS), Modality.IMAGE, synapses);
        session.remoteCalls().recordForward(call.results());

        MnistModel.StepResult r = model.trainWithNetwork(images, labels, call.output());

        INDArray grad = r.networkGrad().reshape('c', b, 1, Neuron.NETWORK_DIM);
        router.apply(call.backward(grad, false)); // the gate learns now, on this thread
        if (call.answeredCount() > 0) {
            backward.execute(() -> sendBackward(call, grad));
        }
        return new Result(r, synapses.size(), call.called().size(), call.answeredCount());
    }

    /** Peers' gradients for their rows, through Dendrite Backward (the gate part was done in train). */
    private void sendBackward(RouterCall call, INDArray grad) {
        try {
            session.remoteCalls().recordBackward(call.backward(grad, true).peerResults());
        } catch (IllegalStateException e) {
            LOG.debug("backward skipped: {}", e.getMessage()); // the session closed meanwhile
        } catch (RuntimeException e) {
            LOG.warn("backward to {} peer(s) failed: {}", call.called().size(), e.toString());
        }
    }

    @Override
    public void close() {
        backward.shutdownNow();
        try {
            if (!backward.awaitTermination(5, TimeUnit.SECONDS)) {
                LOG.warn("a Backward call was still running after 5 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
