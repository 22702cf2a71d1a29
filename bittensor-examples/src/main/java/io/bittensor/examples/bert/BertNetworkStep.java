package io.bittensor.examples.bert;

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
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One training step of the text neuron with the network as context, as the original's
 * {@code BertMLMSynapse.forward(query=True)}:
 *
 * <pre>
 * pooled [b,H] ([CLS] rows of the encoder) ─ gate over metagraph.synapses() ─ top-k
 * masked ids [b,t] int64 ─ Dendrite Forward (TEXT) ─ combine ─ network [b,t,512]
 * model.trainWithNetwork(batch, network) → local + remote + distillation, d loss / d network
 *   ─ gate step now; per-peer d outputs → Dendrite Backward on a background thread
 * </pre>
 */
final class BertNetworkStep implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(BertNetworkStep.class);

    private final NeuronSession session;
    private final Router router;
    private final ThreadPoolExecutor backward;
    private int steps;

    BertNetworkStep(NeuronSession session, int hidden, long seed, int topK) {
        this.session = session;
        this.router = Router.builder(hidden, session.dendrite()).topK(topK).random(new Random(seed)).build();
        // At most two Backward calls waiting; older ones are dropped rather than slowing training.
        this.backward = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new ArrayBlockingQueue<>(2), r -> {
            Thread t = new Thread(r, "bert-backward");
            t.setDaemon(true);
            return t;
        }, new ThreadPoolExecutor.DiscardOldestPolicy());
    }

    /** What one step did. */
    record Result(BertModel.StepResult step, int peers, int called, int answered) {}

    Result train(BertModel model, BertModel.Batch batch) {
        List<Synapse> synapses = session.synapses();
        if (++steps % 100 == 1) {
            router.retain(synapses.stream().map(Synapse::getSynapseKey).toList());
        }
        INDArray ids = Nd4j.createFromArray(batch.inputIds()).castTo(DataType.LONG)
                .reshape('c', batch.batch(), batch.sequence());
        RouterCall call = router.forward(model.pooled(batch), ids, Modality.TEXT, synapses);
        session.remoteCalls().recordForward(call.results());

        BertModel.StepResult r = model.trainWithNetwork(batch, call.output());

        INDArray grad = r.networkGrad();
        router.apply(call.backward(grad, false)); // the gate learns now, on this thread
        if (call.answeredCount() > 0) {
            backward.execute(() -> sendBackward(call, grad));
        }
        return new Result(r, synapses.size(), call.called().size(), call.answeredCount());
    }

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
