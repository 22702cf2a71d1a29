package io.bittensor.examples.bert;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Masked-language-model inputs as BERT makes them: documents cut into sequences of
 * {@code [CLS] tokens… [SEP]} (the last of a document padded with [PAD]); in each sequence 15 % of
 * the real tokens (at least one) are chosen, and of those 80 % become [MASK], 10 % a random token
 * and 10 % stay as they are. The model is scored on the chosen positions only. Training may choose
 * another share ({@code rate}); validation keeps BERT's 15 %.
 *
 * @param vocabSize       ids are {@code [0, vocabSize)}
 * @param firstRandomId   random replacements are drawn from {@code [firstRandomId, vocabSize)} (real words, not special or unused ids)
 * @param rate            the share of each sequence's real tokens chosen, {@code 0 < rate <= 1}
 */
public record MlmMasking(int vocabSize, int firstRandomId, double rate) {
    public static final double MASK_FRACTION = 0.15;
    /** bert-base-uncased: ids below 999 are [PAD], [unusedN] and special tokens. */
    public static final int BERT_FIRST_WORD_ID = 999;

    public MlmMasking {
        if (firstRandomId < 0 || firstRandomId >= vocabSize) {
            throw new IllegalArgumentException("firstRandomId must be in [0, vocabSize)");
        }
        if (!(rate > 0 && rate <= 1)) {
            throw new IllegalArgumentException("the mask rate must be in (0, 1], got " + rate);
        }
    }

    /** BERT's 15 %. */
    public MlmMasking(int vocabSize, int firstRandomId) {
        this(vocabSize, firstRandomId, MASK_FRACTION);
    }

    /** For the bert-base-uncased vocabulary, BERT's 15 %. */
    public static MlmMasking bert() {
        return bert(MASK_FRACTION);
    }

    /** For the bert-base-uncased vocabulary, choosing {@code rate} of each sequence's real tokens (still 80/10/10). */
    public static MlmMasking bert(double rate) {
        return new MlmMasking(WordPiece.VOCAB_SIZE, BERT_FIRST_WORD_ID, rate);
    }

    /**
     * Cuts documents into sequences of {@code sequence} ids: [CLS], up to {@code sequence - 2}
     * tokens, [SEP], then [PAD]s. A document's short tail (fewer than a quarter of the tokens a
     * sequence holds) is dropped.
     */
    public static List<int[]> sequences(List<int[]> documents, int sequence) {
        int body = sequence - 2;
        List<int[]> out = new ArrayList<>();
        for (int[] doc : documents) {
            for (int from = 0; from < doc.length; from += body) {
                int n = Math.min(body, doc.length - from);
                if (n < Math.max(1, body / 4)) {
                    break;
                }
                int[] row = new int[sequence]; // zeros: [PAD]
                row[0] = WordPiece.CLS_ID;
                System.arraycopy(doc, from, row, 1, n);
                row[n + 1] = WordPiece.SEP_ID;
                out.add(row);
            }
        }
        return out;
    }

    /** Masks a batch of sequences (all of one length): {@code rate} of each row's real tokens, 80/10/10. */
    public MaskedBatch mask(List<int[]> rows, SplittableRandom rng) {
        int b = rows.size();
        int t = rows.get(0).length;
        int[] ids = new int[b * t];
        float[] attention = new float[b * t];
        int[] positions = new int[b * t];
        int[] labels = new int[b * t];
        int m = 0;
        int[] candidates = new int[t];
        for (int r = 0; r < b; r++) {
            int[] row = rows.get(r);
            if (row.length != t) {
                throw new IllegalArgumentException("sequences of one batch must have one length");
            }
            int n = 0;
            for (int i = 0; i < t; i++) {
                int id = row[i];
                ids[r * t + i] = id;
                attention[r * t + i] = id == WordPiece.PAD_ID ? 0f : 1f;
                if (id != WordPiece.PAD_ID && id != WordPiece.CLS_ID && id != WordPiece.SEP_ID) {
                    candidates[n++] = i;
                }
            }
            int k = Math.min(n, Math.max(1, (int) Math.round(rate * n)));
            for (int j = 0; j < k; j++) { // partial Fisher–Yates: k distinct positions
                int pick = j + rng.nextInt(n - j);
                int pos = candidates[pick];
                candidates[pick] = candidates[j];
                candidates[j] = pos;
                int flat = r * t + pos;
                positions[m] = flat;
                labels[m] = row[pos];
                m++;
                double u = rng.nextDouble();
                if (u < 0.8) {
                    ids[flat] = WordPiece.MASK_ID;
                } else if (u < 0.9) {
                    ids[flat] = firstRandomId + rng.nextInt(vocabSize - firstRandomId);
                }
            }
        }
        if (m == 0) {
            throw new IllegalArgumentException("the batch has no token to mask");
        }
        return new MaskedBatch(b, t, ids, attention, Arrays.copyOf(positions, m), Arrays.copyOf(labels, m));
    }
}
