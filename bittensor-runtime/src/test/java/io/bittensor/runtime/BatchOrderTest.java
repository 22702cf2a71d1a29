package io.bittensor.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class BatchOrderTest {
    /** A split whose batches are the indices they were cut from. */
    private record Indices(int size) implements DataSplit {
        @Override
        public Batch batch(int[] order, int from, int to) {
            int[] picked = new int[to - from];
            System.arraycopy(order, from, picked, 0, picked.length);
            INDArray a = Nd4j.createFromArray(picked);
            return new Batch() {
                @Override
                public INDArray inputs() {
                    return a;
                }

                @Override
                public INDArray labels() {
                    return a;
                }
            };
        }

        @Override
        public Batch batch(int from, int to) {
            throw new UnsupportedOperationException();
        }

        @Override
        public DataSplit head(int n) {
            return new Indices(n);
        }
    }

    private static int[] take(BatchOrder o, DataSplit split) {
        return o.next(split).inputs().toIntVector();
    }

    @Test
    void onePassPerEpochIsAFreshShuffleCutInBatches() {
        DataSplit split = new Indices(10);
        BatchOrder o = new BatchOrder(10, 4, false, new SplittableRandom(3));
        SplittableRandom same = new SplittableRandom(3);
        for (int epoch = 0; epoch < 2; epoch++) {
            int[] expected = Epochs.shuffled(10, same);
            o.startEpoch();
            List<Integer> seen = new ArrayList<>();
            for (int step = 0; step < Epochs.stepsPerEpoch(10, 4); step++) {
                for (int i : take(o, split)) {
                    seen.add(i);
                }
            }
            assertArrayEquals(expected, seen.stream().mapToInt(Integer::intValue).toArray());
        }
    }

    @Test
    void continuingOrderCarriesOnAcrossEpochsWithFullBatches() {
        DataSplit split = new Indices(10);
        BatchOrder o = new BatchOrder(10, 4, true, new SplittableRandom(5));
        o.startEpoch();
        int[] a = take(o, split);
        o.startEpoch(); // a new epoch does not restart the order
        int[] b = take(o, split);
        Set<Integer> firstPass = new HashSet<>();
        for (int i : a) {
            firstPass.add(i);
        }
        for (int i : b) {
            assertTrue(firstPass.add(i), "no example twice before the order is used up");
        }
        int[] c = take(o, split); // 2 left < 4: reshuffled, full batch
        assertEquals(4, c.length);
        assertEquals(4, new HashSet<>(List.of(c[0], c[1], c[2], c[3])).size());
    }

    @Test
    void peekShowsTheNextBatchWithoutTakingIt() {
        DataSplit split = new Indices(10);
        BatchOrder o = new BatchOrder(10, 4, true, new SplittableRandom(7));
        BatchOrder same = new BatchOrder(10, 4, true, new SplittableRandom(7));
        o.startEpoch();
        same.startEpoch();
        Batch peeked = o.peek(split);
        assertSame(peeked, o.peek(split), "peeking twice draws once");
        assertSame(peeked, o.next(split));
        assertArrayEquals(take(same, split), peeked.inputs().toIntVector());
        // An epoch stopped after a peek: a continuing order opens the next epoch with that batch.
        Batch stoppedAt = o.peek(split);
        o.startEpoch();
        assertSame(stoppedAt, o.next(split));
        assertArrayEquals(take(same, split), stoppedAt.inputs().toIntVector());
    }

    @Test
    void aFreshShuffleDropsAPeekedBatch() {
        DataSplit split = new Indices(10);
        BatchOrder o = new BatchOrder(10, 4, false, new SplittableRandom(3));
        SplittableRandom same = new SplittableRandom(3);
        Epochs.shuffled(10, same);
        o.startEpoch();
        o.peek(split);
        o.startEpoch();
        int[] expected = Epochs.shuffled(10, same);
        assertArrayEquals(java.util.Arrays.copyOf(expected, 4), take(o, split));
    }
}
