package io.bittensor.runtime;

import io.bittensor.proto.Modality;
import io.bittensor.proto.ServedInput;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The model a {@link NeuronTrainer} drives: what an example neuron (or an SDK user's own) writes,
 * the runtime doing the rest (loops, routing, Backward to peers, serving, checkpoints, metrics).
 * Modality-agnostic: the model says which modality it serves and what its inputs look like.
 *
 * <p>Shape of the original's synapses: a transform of the inputs (the router's context), a local
 * head with the student's guess of the network as context, a remote head with the network's
 * answer as context, and a student distilling that answer. A model that has no student may train
 * its remote head alone in {@link #trainWithNetwork}.
 *
 * <p><b>Threads.</b> The training thread owns the instance it trains: training steps and
 * {@link #applyGradients} change parameters in place. The runtime serves a {@link #copy()} that
 * nobody trains; on it {@link #forward} must be safe from several Axon threads at once and
 * {@link #backward} alongside them.
 */
public interface NeuronModel extends AutoCloseable {
    /** The modality this model serves (and sends to peers). */
    Modality modality();

    /**
     * What the served neuron takes, published with its synapse (see {@code ServedInputs}) so that
     * routers call it only with inputs it can take. Default: not said.
     */
    default List<ServedInput> serves() {
        return List.of();
    }

    /** Identifies the architecture (and size) in checkpoints; a checkpoint of another id is refused. */
    String modelId();

    /** Width of {@link #routerContext}: the router's gate is learned over it. */
    int contextDim();

    /** The router's input for a training batch's inputs: {@code [b, contextDim]}, no dropout. */
    INDArray routerContext(INDArray inputs);

    /**
     * {@link #routerContext} as the model stands now, for another thread: the networked step
     * computes an early route's context with it on its routing thread, off the training thread.
     * It must own copies of what it reads (the training thread goes on changing the parameters)
     * and may be called while this model trains. Called on the training thread, between steps.
     * Default: null, and the context is computed on the training thread.
     */
    default ContextSnapshot contextSnapshot() {
        return null;
    }

    /** A training batch's inputs as peers get them: {@code [b, 1, ...]} in the modality's wire form. */
    INDArray remoteInputs(INDArray inputs);

    /** One optimizer step alone: the local head's loss. */
    StepResult trainLocal(Batch batch);

    /**
     * One optimizer step with the network's answer as context.
     *
     * @param network the router's combined peer output for the batch, {@code [b, 512]} (zeros where
     *                no peer answered)
     * @return the losses, and d loss / d network for the peers' Backward: {@code [b, 512]}, or
     *         {@code [b, seq, 512]} for a model whose network answer is per position
     */
    StepResult trainWithNetwork(Batch batch, INDArray network);

    /**
     * The local head's mean loss and correct count on a labelled batch, without dropout; the
     * {@link Evaluation#count()} is what both are over (examples, or e.g. masked tokens).
     */
    Evaluation evaluate(Batch batch);

    /**
     * How this model words a whole split's evaluation in the epoch's log line. Default: a
     * classifier's, {@code test loss 0.0712, accuracy 97.85 % (9785/10000)}; a language model
     * may speak of perplexity and top-1 instead.
     */
    default String describe(TestResult test) {
        return test.describe();
    }

    /**
     * Peers' parameter gradients the served snapshot may hold for the training thread, at most.
     * Default 64; a model whose gradients are large (a big embedding) asks for fewer.
     */
    default int gradientQueueCapacity() {
        return 64;
    }

    /** What peers get from Forward: {@code [b, seq, ...]} inputs to {@code [b, seq, 512]}. */
    INDArray forward(INDArray inputs);

    /**
     * A peer's Backward: the gradients of {@code sum(gradOutputs ⊙ forward(inputs))} with respect to
     * the inputs and to this model's parameters. Must not change the parameters.
     *
     * @throws IllegalArgumentException for inputs or gradients of the wrong shape
     */
    ServedBackward backward(INDArray inputs, INDArray gradOutputs);

    /** One optimizer step with the given parameter gradients; unknown names are ignored. */
    void applyGradients(Map<String, INDArray> grads);

    /** Copies of the trainable parameters, by name. */
    Map<String, INDArray> parameters();

    /**
     * Overwrites the parameters.
     *
     * @throws IllegalArgumentException naming the first missing or mis-shaped parameter (nothing changed)
     */
    void setParameters(Map<String, INDArray> values);

    /**
     * Copies of state that is not trained but belongs in a checkpoint and a {@link #copy()} (e.g.
     * batch norm's running statistics), by name. Default: none.
     */
    default Map<String, INDArray> buffers() {
        return Map.of();
    }

    /**
     * Overwrites {@link #buffers()}.
     *
     * @throws IllegalArgumentException naming the first missing or mis-shaped buffer (nothing changed)
     */
    default void setBuffers(Map<String, INDArray> values) {
        // no buffers
    }

    /** Copies of the optimizer's state, by "parameter/stateName". */
    Map<String, INDArray> optimizerState();

    /** Restores {@link #optimizerState()}; entries that do not fit are ignored (that part restarts). */
    void setOptimizerState(Map<String, INDArray> state, int iteration);

    /** Optimizer steps taken so far. */
    int iteration();

    /** A fresh model of the same options with a copy of the current parameters (fresh optimizer). */
    NeuronModel copy();

    /** Frees native memory now rather than at GC. */
    @Override
    void close();
}
