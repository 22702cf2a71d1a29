package io.bittensor.examples.bert;

import io.bittensor.runtime.DataSplit;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Sequences of token ids as the runtime's {@link DataSplit}, each batch a {@link MaskedBatch}.
 * Training ({@link #freshMasks}): every batch is masked anew (15 %, 80/10/10) from the split's
 * seeded generator. Validation ({@link #fixedMasks}): every sequence is masked once, up front, so
 * each evaluation scores the same positions whatever its batch size.
 */
final class MaskedSplit implements DataSplit {
    private final List<int[]> rows;
    private final MlmMasking masking;
    /** Training: draws each batch's masks. Null for fixed masks. */
    private final SplittableRandom rng;
    /** Validation: each row masked once. Null for fresh masks. */
    private final List<MaskedBatch> fixed;

    private MaskedSplit(List<int[]> rows, MlmMasking masking, SplittableRandom rng, List<MaskedBatch> fixed) {
        this.rows = List.copyOf(rows);
        this.masking = masking;
        this.rng = rng;
        this.fixed = fixed;
    }

    /** Sequences masked afresh for every batch, from {@code seed}. */
    static MaskedSplit freshMasks(List<int[]> rows, MlmMasking masking, long seed) {
        return new MaskedSplit(rows, masking, new SplittableRandom(seed), null);
    }

    /**
     * Sequences masked once, in order, from {@code seed}. Masking row by row draws exactly what
     * masking them in consecutive batches would: the masks do not depend on the batch size.
     */
    static MaskedSplit fixedMasks(List<int[]> rows, MlmMasking masking, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<MaskedBatch> masked = new ArrayList<>(rows.size());
        for (int[] row : rows) {
            masked.add(masking.mask(List.of(row), r));
        }
        return new MaskedSplit(rows, masking, null, List.copyOf(masked));
    }

    @Override
    public int size() {
        return rows.size();
    }

    @Override
    public MaskedBatch batch(int[] order, int from, int to) {
        List<Integer> picked = new ArrayList<>(to - from);
        for (int i = from; i < to; i++) {
            picked.add(order[i]);
        }
        return rowsAt(picked);
    }

    @Override
    public MaskedBatch batch(int from, int to) {
        List<Integer> picked = new ArrayList<>(to - from);
        for (int i = from; i < to; i++) {
            picked.add(i);
        }
        return rowsAt(picked);
    }

    private MaskedBatch rowsAt(List<Integer> indices) {
        if (fixed != null) {
            return MaskedBatch.concat(indices.stream().map(fixed::get).toList());
        }
        return masking.mask(indices.stream().map(rows::get).toList(), rng);
    }

    /** The first {@code n} sequences (fixed masks kept; fresh masks from a generator of its own). */
    @Override
    public MaskedSplit head(int n) {
        return new MaskedSplit(rows.subList(0, n), masking, rng == null ? null : rng.split(),
                fixed == null ? null : fixed.subList(0, n));
    }
}
