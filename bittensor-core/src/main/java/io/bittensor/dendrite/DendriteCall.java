package io.bittensor.dendrite;

import io.bittensor.neuron.Neuron;
import io.bittensor.proto.Modality;
import io.bittensor.proto.Synapse;
import io.bittensor.proto.Tensor;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The result of one {@link Dendrite#forward}: per peer, an output {@code [batch, seq, 512]}
 * float32 (zeros on failure, non-finite values replaced by 0) and a {@link PeerResult}; and the
 * way back: {@link #backward} sends the caller's gradients w.r.t. those outputs to the peers and
 * returns the gradients w.r.t. the inputs.
 *
 * <p>Using it in a SameDiff model: feed {@link #outputs()} into placeholders, ask
 * {@code calculateGradients} for those placeholders (name them in {@code createGradFunction}),
 * pass the gradients to {@link #backward}; see docs/dendrite.md.
 *
 * <p><b>Ownership.</b> A Forward output of 1 MiB or more is a view of the native block its reply
 * was received into (no copy after gRPC's buffers); a smaller one is a copy in a pooled array
 * (cheaper than a new ND4J array at that size). The call owns those blocks and arrays and the
 * encoded inputs' buffers; {@link #close()} gives them back to the Dendrite for its next calls:
 * close a call once its outputs have been used (copied into a graph's inputs, combined) and its
 * backward sent, and {@code dup()} first what must outlive it. After close a view output is
 * released (reading it, or using it in an ND4J op, throws {@code IllegalStateException}; arrays
 * derived from it before close, such as a reshape, are refused by ND4J's ops but not by its
 * element getters), and a pooled output may hold another call's reply: read neither. A call never
 * closed is correct too: its blocks go back once the call and its outputs are unreachable (a
 * Cleaner), its pooled arrays are freed by the GC, at a cost per reply.
 */
public final class DendriteCall implements AutoCloseable {
    private final Dendrite dendrite;
    private final Modality modality;
    private final List<Synapse> synapses;
    private final List<INDArray> inputs;
    private final Tensor[] sent;
    private final List<INDArray> outputs;
    private final List<PeerResult> results;
    private final List<AutoCloseable> owners;
    private volatile List<PeerResult> backwardResults = List.of();
    private volatile boolean closed;

    DendriteCall(Dendrite dendrite, Modality modality, List<Synapse> synapses, List<INDArray> inputs,
                 Tensor[] sent, List<Dendrite.Reply> replies, List<AutoCloseable> requestBuffers) {
        this.dendrite = dendrite;
        this.modality = modality;
        this.synapses = List.copyOf(synapses);
        this.inputs = List.copyOf(inputs);
        this.sent = sent;
        this.outputs = replies.stream().map(Dendrite.Reply::value).toList();
        this.results = replies.stream().map(Dendrite.Reply::result).toList();
        List<AutoCloseable> o = new ArrayList<>(requestBuffers);
        for (Dendrite.Reply r : replies) {
            if (r.owner() != null) {
                o.add(r.owner());
            }
        }
        this.owners = o;
    }

    public Modality modality() {
        return modality;
    }

    public List<Synapse> synapses() {
        return synapses;
    }

    /** The inputs as given to forward. */
    public List<INDArray> inputs() {
        return inputs;
    }

    /**
     * Per peer, {@code [batch, seq, 512]} float32; zeros for every peer whose result is not OK.
     * Valid until {@link #close()}.
     *
     * @throws IllegalStateException after {@link #close()}
     */
    public List<INDArray> outputs() {
        if (closed) {
            throw new IllegalStateException("outputs read after the call was closed");
        }
        return outputs;
    }

    /**
     * Gives the outputs' blocks or arrays and the encoded inputs' buffers back to the Dendrite
     * (freed at once if it keeps enough idle or is closed); {@link #outputs()} and
     * {@link #backward} refuse from then on, and the arrays read from {@link #outputs()} before
     * must not be read (views are released and throw; pooled copies may hold another reply).
     * Idempotent. Not while a {@link #backward} of this call runs, nor while another thread
     * reads its outputs.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (AutoCloseable o : owners) {
            try {
                o.close();
            } catch (Exception e) {
                throw new IllegalStateException("could not give an output back", e);
            }
        }
    }

    /** Per peer, the Forward's code, latency and message. */
    public List<PeerResult> results() {
        return results;
    }

    /** Per peer given a gradient, the results of the last {@link #backward} (empty before it). */
    public List<PeerResult> backwardResults() {
        return backwardResults;
    }

    /**
     * Sends each peer {@code [its inputs as sent in Forward, grads.get(i)]} through Backward,
     * concurrently with the dendrite's deadline, and returns the peers' gradients w.r.t. the
     * inputs, of the inputs' shapes (input dtype when floating, else float32). A peer whose
     * Forward failed is not called (its output was zeros, its gradient is zeros); any failure
     * gives zeros and a code in {@link #backwardResults()}. A null gradient leaves that peer out:
     * no call, zeros back, and no entry in {@link #backwardResults()}.
     *
     * @param gradsWrtOutputs per peer, {@code [batch, seq, 512]}, or null
     * @throws IllegalStateException after {@link #close()} (the inputs' bytes were given back)
     */
    public List<INDArray> backward(List<INDArray> gradsWrtOutputs) {
        if (closed) {
            throw new IllegalStateException("backward after the call was closed");
        }
        if (gradsWrtOutputs.size() != synapses.size()) {
            throw new IllegalArgumentException(synapses.size() + " peers but " + gradsWrtOutputs.size()
                    + " gradients");
        }
        List<CompletableFuture<Dendrite.Reply>> peers = new ArrayList<>(synapses.size());
        List<INDArray> values = new ArrayList<>(synapses.size());
        for (int i = 0; i < synapses.size(); i++) {
            INDArray g = gradsWrtOutputs.get(i);
            long[] in = inputs.get(i).shape();
            DataType dtype = inputs.get(i).dataType().isFPType() ? inputs.get(i).dataType() : DataType.FLOAT;
            if (g == null) {
                values.add(Nd4j.zeros(dtype, in));
                continue;
            }
            values.add(null); // the reply's, below
            long[] outShape = {in[0], in[1], Neuron.NETWORK_DIM};
            if (!Arrays.equals(outShape, g.shape())) {
                throw new IllegalArgumentException("gradient " + i + " has shape "
                        + Arrays.toString(g.shape()) + ", the output was " + Arrays.toString(outShape));
            }
            PeerResult forward = results.get(i);
            if (!forward.ok()) {
                peers.add(CompletableFuture.completedFuture(new Dendrite.Reply(Nd4j.zeros(dtype, in),
                        new PeerResult(forward.synapseKey(), forward.code(), Duration.ZERO,
                                "not sent: Forward was " + forward.code()))));
                continue;
            }
            Tensor grads = dendrite.encodeGradient(g);
            peers.add(dendrite.call(false, synapses.get(i), List.of(sent[i], grads), in, dtype));
        }
        List<Dendrite.Reply> replies = dendrite.await(
                CompletableFuture.allOf(peers.toArray(CompletableFuture[]::new))
                        .thenApply(v -> Dendrite.joinAll(peers)));
        backwardResults = replies.stream().map(Dendrite.Reply::result).toList();
        for (int i = 0, r = 0; i < values.size(); i++) {
            if (values.get(i) == null) {
                values.set(i, replies.get(r++).value());
            }
        }
        return values;
    }
}
