package io.bittensor.examples.bert;

import io.bittensor.runtime.Batch;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * One masked-language-model batch: the (masked) input ids, the padding mask, the masked positions
 * (flat, {@code row × sequence + column}) and their true ids, the targets. As the runtime's {@link Batch}: the
 * inputs are the ids {@code [batch, sequence]} int64 (what the router sends peers), the labels the
 * true ids {@code [masked]}.
 */
public record MaskedBatch(int batch, int sequence, int[] inputIds, float[] attention, int[] maskedPositions,
        int[] targets) implements Batch {
    public MaskedBatch {
        if (inputIds.length != batch * sequence || attention.length != inputIds.length) {
            throw new IllegalArgumentException("ids and attention must hold batch × sequence entries");
        }
        if (maskedPositions.length != targets.length || targets.length == 0) {
            throw new IllegalArgumentException("need as many targets as masked positions, at least one");
        }
    }

    /** {@code batch} as a masked batch: the text model takes no other. */
    static MaskedBatch of(Batch batch) {
        if (batch instanceof MaskedBatch m) {
            return m;
        }
        throw new IllegalArgumentException("the text model trains on masked batches, not " + batch.getClass().getName());
    }

    /** The rows of several batches (of one sequence length) as one, positions shifted to their rows. */
    static MaskedBatch concat(List<MaskedBatch> parts) {
        int t = parts.get(0).sequence();
        int rows = 0;
        int masked = 0;
        for (MaskedBatch p : parts) {
            if (p.sequence() != t) {
                throw new IllegalArgumentException("batches of one sequence length only");
            }
            rows += p.batch();
            masked += p.targets().length;
        }
        int[] ids = new int[rows * t];
        float[] attention = new float[rows * t];
        int[] positions = new int[masked];
        int[] labels = new int[masked];
        int row = 0;
        int m = 0;
        for (MaskedBatch p : parts) {
            int offset = row * t;
            System.arraycopy(p.inputIds(), 0, ids, offset, p.inputIds().length);
            System.arraycopy(p.attention(), 0, attention, offset, p.attention().length);
            for (int i = 0; i < p.targets().length; i++) {
                positions[m] = offset + p.maskedPositions()[i];
                labels[m++] = p.targets()[i];
            }
            row += p.batch();
        }
        return new MaskedBatch(rows, t, ids, attention, positions, labels);
    }

    /** The masked ids, {@code [batch, sequence]} int64. */
    @Override
    public INDArray inputs() {
        return Nd4j.createFromArray(inputIds).castTo(DataType.LONG).reshape('c', batch, sequence);
    }

    /** The true ids at the masked positions, {@code [masked]} int32. */
    @Override
    public INDArray labels() {
        return Nd4j.createFromArray(targets);
    }

    @Override
    public int size() {
        return batch;
    }
}
