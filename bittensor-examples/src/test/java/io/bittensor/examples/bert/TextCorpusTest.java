package io.bittensor.examples.bert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TextCorpusTest {
    private static WordPiece wp;

    @BeforeAll
    static void load() {
        wp = WordPiece.bertBaseUncased(WordPieceTest.DATA);
    }

    /** A document of {@code n} random word ids (never special tokens). */
    private static int[] words(SplittableRandom r, int n) {
        int[] doc = new int[n];
        for (int i = 0; i < n; i++) {
            doc[i] = 2000 + r.nextInt(20000);
        }
        return doc;
    }

    @Test
    void sotuIsFetchedAndSplitByDocument() {
        TextCorpus c = TextCorpus.sotu(WordPieceTest.DATA, wp);
        assertEquals(233 - TextCorpus.SOTU_VALIDATION_DOCUMENTS, c.train().size());
        assertEquals(TextCorpus.SOTU_VALIDATION_DOCUMENTS, c.validation().size());
        // Names sort by year: the held-out addresses are the latest ones.
        assertTrue(c.trainNames().get(0).startsWith("1790_"), c.trainNames().get(0));
        assertTrue(c.validationNames().get(0).compareTo(c.trainNames().get(c.trainNames().size() - 1)) > 0);
        assertTrue(c.trainTokens() > 1_500_000 && c.trainTokens() < 2_500_000, "tokens " + c.trainTokens());
    }

    @Test
    void userDirectoryHoldsOutTheLastTenth(@TempDir Path dir) throws IOException {
        for (int i = 0; i < 10; i++) {
            Files.writeString(dir.resolve("doc" + i + ".txt"), "Document number " + i + " says hello.");
        }
        Files.writeString(dir.resolve("ignored.md"), "not a text file");
        TextCorpus c = TextCorpus.userDirectory(dir, wp);
        assertEquals(9, c.train().size());
        assertEquals(List.of("doc9.txt"), c.validationNames());
    }

    @Test
    void emptyMissingOrUnreadableCorporaAreOneLineErrors(@TempDir Path dir) throws IOException {
        CorpusException missing = assertThrows(CorpusException.class,
                () -> TextCorpus.userDirectory(dir.resolve("nope"), wp));
        assertTrue(missing.getMessage().contains("does not exist"), missing.getMessage());
        Files.writeString(dir.resolve("empty.txt"), "");
        Files.writeString(dir.resolve("one.txt"), "only one document");
        CorpusException few = assertThrows(CorpusException.class, () -> TextCorpus.userDirectory(dir, wp));
        assertTrue(few.getMessage().contains("at least two"), few.getMessage());
        Files.write(dir.resolve("two.txt"), new byte[] {(byte) 0xC3, (byte) 0x28, 0x41});
        CorpusException bad = assertThrows(CorpusException.class, () -> TextCorpus.userDirectory(dir, wp));
        assertTrue(bad.getMessage().contains("not UTF-8"), bad.getMessage());
        assertTrue(!bad.getMessage().contains("\n"));
    }

    @Test
    void maskingFollowsTheEightyTenTenRule() {
        SplittableRandom r = new SplittableRandom(5);
        int[] doc = words(r, 62 * 400);
        List<int[]> rows = MlmMasking.sequences(List.of(doc), 64);
        assertEquals(400, rows.size());
        assertEquals(WordPiece.CLS_ID, rows.get(0)[0]);
        assertEquals(WordPiece.SEP_ID, rows.get(0)[63]);
        MaskedBatch b = MlmMasking.bert().mask(rows, r);
        int masked = b.targets().length;
        assertEquals(400 * 9, masked); // round(0.15 × 62) per sequence
        int mask = 0;
        int same = 0;
        for (int i = 0; i < masked; i++) {
            int id = b.inputIds()[b.maskedPositions()[i]];
            if (id == WordPiece.MASK_ID) {
                mask++;
            } else if (id == b.targets()[i]) {
                same++;
            }
            int col = b.maskedPositions()[i] % 64;
            assertTrue(col > 0 && col < 63, "never [CLS] or [SEP]");
        }
        assertEquals(0.8, mask / (double) masked, 0.03);
        assertEquals(0.1, same / (double) masked, 0.02);
        assertEquals(0.1, (masked - mask - same) / (double) masked, 0.02);
    }

    @Test
    void aTrainingMaskRateChoosesItsShareStillEightyTenTen() {
        SplittableRandom r = new SplittableRandom(6);
        List<int[]> rows = MlmMasking.sequences(List.of(words(r, 62 * 400)), 64);
        assertEquals(MlmMasking.MASK_FRACTION, MlmMasking.bert().rate());
        MaskedBatch b = MlmMasking.bert(0.3).mask(rows, r);
        int masked = b.targets().length;
        assertEquals(400 * 19, masked); // round(0.3 × 62) per sequence
        int mask = 0;
        int same = 0;
        java.util.Set<Integer> distinct = new java.util.HashSet<>();
        for (int i = 0; i < masked; i++) {
            int id = b.inputIds()[b.maskedPositions()[i]];
            mask += id == WordPiece.MASK_ID ? 1 : 0;
            same += id == b.targets()[i] ? 1 : 0;
            distinct.add(b.maskedPositions()[i]);
            int col = b.maskedPositions()[i] % 64;
            assertTrue(col > 0 && col < 63, "never [CLS] or [SEP]");
        }
        assertEquals(masked, distinct.size(), "distinct positions");
        assertEquals(0.8, mask / (double) masked, 0.02);
        assertEquals(0.1, same / (double) masked, 0.015);
        assertEquals(400 * 62, MlmMasking.bert(1).mask(rows, r).targets().length, "all of them at rate 1");
        for (double bad : new double[] {0, -0.1, 1.5, Double.NaN}) {
            assertThrows(IllegalArgumentException.class, () -> MlmMasking.bert(bad));
        }
    }

    @Test
    void validationMasksAreFixedWhateverTheBatchAndTrainingMasksAreFresh() {
        int[] doc = words(new SplittableRandom(9), 62 * 10);
        List<int[]> rows = MlmMasking.sequences(List.of(doc), 64);
        MlmMasking masking = MlmMasking.bert();
        // The masks of consecutive batches (the old trainer's validation) are the split's, at any batch size.
        SplittableRandom v = new SplittableRandom(3);
        MaskedBatch asBatches = MaskedBatch.concat(List.of(masking.mask(rows.subList(0, 4), v),
                masking.mask(rows.subList(4, 10), v)));
        MaskedSplit fixed = MaskedSplit.fixedMasks(rows, masking, 3);
        MaskedBatch whole = fixed.batch(0, 10);
        assertArrayEquals(asBatches.inputIds(), whole.inputIds());
        assertArrayEquals(asBatches.maskedPositions(), whole.maskedPositions());
        assertArrayEquals(asBatches.targets(), whole.targets());
        assertArrayEquals(masking.mask(rows, new SplittableRandom(3)).maskedPositions(), whole.maskedPositions());
        MaskedBatch inTwo = MaskedBatch.concat(List.of(fixed.batch(0, 3), fixed.batch(3, 10)));
        assertArrayEquals(whole.maskedPositions(), inTwo.maskedPositions());
        assertArrayEquals(whole.inputIds(), inTwo.inputIds());
        assertArrayEquals(whole.maskedPositions(), fixed.batch(0, 10).maskedPositions(), "the same every evaluation");
        assertArrayEquals(fixed.batch(0, 4).targets(), fixed.head(4).batch(0, 4).targets());

        MaskedSplit fresh = MaskedSplit.freshMasks(rows, masking, 3);
        int[] order = {9, 0, 4};
        MaskedBatch a = fresh.batch(order, 0, 3);
        MaskedBatch b = fresh.batch(order, 0, 3);
        assertEquals(3, a.batch());
        assertEquals(rows.get(9)[0], a.inputIds()[0]);
        assertTrue(!java.util.Arrays.equals(a.maskedPositions(), b.maskedPositions()), "masked anew each batch");
        assertArrayEquals(new long[] {3, 64}, a.inputs().shape());
    }

    @Test
    void aCorpusTooSmallForTheBatchIsOneLine() {
        int[] doc = words(new SplittableRandom(2), 62 * 3);
        TextCorpus c = new TextCorpus(List.of(doc), List.of(doc), List.of("a.txt"), List.of("b.txt"));
        assertEquals(3, c.dataset(64, 2, 1).train().size());
        CorpusException e = assertThrows(CorpusException.class, () -> c.dataset(64, 8, 1));
        assertTrue(e.getMessage().contains("--batch_size (8)"), e.getMessage());
    }

    @Test
    void shortTailsArePaddedAndNeverMasked() {
        List<int[]> rows = MlmMasking.sequences(List.of(new int[] {2000, 2001, 2002, 2003, 2004, 2005, 2006, 2007, 2008, 2009, 2010, 2011, 2012, 2013, 2014, 2015, 2016, 2017, 2018, 2019}), 64);
        assertEquals(1, rows.size());
        assertEquals(WordPiece.SEP_ID, rows.get(0)[21]);
        assertEquals(WordPiece.PAD_ID, rows.get(0)[22]);
        MaskedBatch b = MlmMasking.bert().mask(rows, new SplittableRandom(1));
        assertEquals(0f, b.attention()[22]);
        for (int p : b.maskedPositions()) {
            assertTrue(p >= 1 && p <= 20);
        }
    }

    @Test
    void unigramBaselineIsTheFrequencyModel() {
        UnigramBaseline u = new UnigramBaseline(List.of(new int[] {5, 5, 5, 6}), 8);
        // p(5) = 4/12, p(6) = 2/12, p(7) = 1/12 (add-one over 8 ids, 4 tokens).
        assertEquals(-Math.log(4 / 12.0), u.loss(new int[] {5}), 1e-12);
        assertEquals(-Math.log(2 / 12.0) - Math.log(1 / 12.0), u.loss(new int[] {6, 7}), 1e-12);
        assertEquals(2, u.correct(new int[] {5, 6, 5}));
    }
}
