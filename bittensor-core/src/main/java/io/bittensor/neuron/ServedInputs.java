package io.bittensor.neuron;

import io.bittensor.proto.Modality;
import io.bittensor.proto.ServedInput;
import io.bittensor.proto.SynapseOrBuilder;
import java.util.List;

/**
 * What a synapse serves ({@code Synapse.serves}, field 28): the modalities it takes, each with the
 * shape of one input, and whether a batch fits one of them.
 *
 * <ul>
 *   <li>IMAGE {@code [channels, height, width]}: takes {@code [batch, seq, channels, height, width]};
 *   <li>TEXT with a vocabulary size: takes {@code [batch, seq]} token ids below it;
 *   <li>TENSOR {@code [features]}: takes {@code [batch, seq, features]}.
 * </ul>
 *
 * <p>An entry that says nothing (a Python peer's) is taken to serve what the original's MNIST
 * neuron served: {@link #PYTHON_DEFAULT}, IMAGE {@code [1, 28, 28]}.
 */
public final class ServedInputs {

    /** Most inputs one synapse may declare; more and the gossip message is refused. */
    public static final int MAX_INPUTS = 8;
    /** Most dimensions of one declared shape. */
    public static final int MAX_RANK = 4;
    /** Largest declared dimension or vocabulary size. */
    public static final long MAX_DIM = 1L << 31;

    /** What an entry without {@code serves} is assumed to take: the original MNIST synapse's. */
    public static final List<ServedInput> PYTHON_DEFAULT = List.of(image(1, 28, 28));

    private ServedInputs() {
    }

    /** Images {@code [batch, seq, channels, height, width]}. */
    public static ServedInput image(long channels, long height, long width) {
        return ServedInput.newBuilder().setModality(Modality.IMAGE).addShape(channels)
                .addShape(height).addShape(width).build();
    }

    /** Token ids {@code [batch, seq]} in {@code [0, vocabSize)}. */
    public static ServedInput text(long vocabSize) {
        return ServedInput.newBuilder().setModality(Modality.TEXT).setVocabSize(vocabSize).build();
    }

    /** Features {@code [batch, seq, width]}. */
    public static ServedInput tensor(long width) {
        return ServedInput.newBuilder().setModality(Modality.TENSOR).addShape(width).build();
    }

    /** What {@code synapse} serves: its own declaration, else {@link #PYTHON_DEFAULT}. */
    public static List<ServedInput> of(SynapseOrBuilder synapse) {
        return synapse.getServesCount() == 0 ? PYTHON_DEFAULT : synapse.getServesList();
    }

    /** Whether {@code synapse} takes a batch of {@code modality} with this {@code [batch, seq, …]} shape. */
    public static boolean accepts(SynapseOrBuilder synapse, Modality modality, long[] batchShape) {
        for (ServedInput in : of(synapse)) {
            if (fits(in, modality, batchShape)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether one declared input takes the batch. TEXT: the shape is {@code [batch, seq]} (the
     * token values are the caller's to keep below the vocabulary size); the others: the
     * dimensions after {@code [batch, seq]} equal the declared shape.
     */
    public static boolean fits(ServedInput in, Modality modality, long[] batchShape) {
        if (in.getModality() != modality || batchShape.length < 2) {
            return false;
        }
        if (modality == Modality.TEXT) {
            return batchShape.length == 2;
        }
        if (batchShape.length != 2 + in.getShapeCount()) {
            return false;
        }
        for (int i = 0; i < in.getShapeCount(); i++) {
            if (batchShape[2 + i] != in.getShape(i)) {
                return false;
            }
        }
        return true;
    }

    /** Why a declaration is over our limits or malformed, or null if it is fine. */
    public static String problem(List<ServedInput> serves) {
        if (serves.size() > MAX_INPUTS) {
            return serves.size() + " served inputs > " + MAX_INPUTS;
        }
        for (ServedInput in : serves) {
            if (in.getModality() == Modality.UNRECOGNIZED) {
                return "an unknown served modality";
            }
            if (in.getShapeCount() > MAX_RANK) {
                return "a served shape of rank " + in.getShapeCount() + " > " + MAX_RANK;
            }
            for (long d : in.getShapeList()) {
                if (d < 1 || d > MAX_DIM) {
                    return "a served dimension " + d + " outside [1, " + MAX_DIM + "]";
                }
            }
            if (in.getVocabSize() < 0 || in.getVocabSize() > MAX_DIM) {
                return "a vocabulary size " + in.getVocabSize() + " outside [0, " + MAX_DIM + "]";
            }
        }
        return null;
    }
}
