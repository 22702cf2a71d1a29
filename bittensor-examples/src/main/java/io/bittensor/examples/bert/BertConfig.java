package io.bittensor.examples.bert;

import java.util.Locale;

/**
 * The text model's sizes. Two presets: {@link #DEFAULT}, which learns on two CPU cores in
 * minutes, and {@link #ORIGINAL}, the October-2020 BERT synapse's (hidden 512, 2 layers, 2 heads,
 * FFN 512).
 *
 * @param vocabSize    token ids the model takes, {@code [0, vocabSize)}
 * @param hidden       width of the encoder
 * @param layers       encoder layers
 * @param heads        attention heads per layer ({@code hidden % heads == 0})
 * @param ffn          width of each layer's feed-forward block
 * @param maxPositions longest sequence the model takes (position embeddings); peers' longer ones are refused
 * @param sequence     training sequence length, {@code [CLS]} and {@code [SEP]} included
 */
public record BertConfig(int vocabSize, int hidden, int layers, int heads, int ffn, int maxPositions, int sequence) {

    /** Hidden 128, 2 layers, 2 heads, FFN 512, sequence 64 (the configuration PyTorch was measured on). */
    public static final BertConfig DEFAULT = new BertConfig(WordPiece.VOCAB_SIZE, 128, 2, 2, 512, 512, 64);
    /** The original's size: hidden 512, 2 layers, 2 heads, FFN 512. */
    public static final BertConfig ORIGINAL = new BertConfig(WordPiece.VOCAB_SIZE, 512, 2, 2, 512, 512, 64);

    public BertConfig {
        if (vocabSize < 8 || hidden < 1 || layers < 1 || heads < 1 || ffn < 1 || sequence < 3) {
            throw new IllegalArgumentException("sizes must be positive (vocab >= 8, sequence >= 3): " + this);
        }
        if (hidden % heads != 0) {
            throw new IllegalArgumentException("hidden " + hidden + " is not a multiple of heads " + heads);
        }
        if (sequence > maxPositions) {
            throw new IllegalArgumentException("sequence " + sequence + " exceeds maxPositions " + maxPositions);
        }
    }

    /** A preset by name: {@code default} or {@code original}. */
    public static BertConfig preset(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "default" -> DEFAULT;
            case "original" -> ORIGINAL;
            default -> throw new IllegalArgumentException("unknown preset '" + name + "' (default, original)");
        };
    }

    public BertConfig withSequence(int newSequence) {
        return new BertConfig(vocabSize, hidden, layers, heads, ffn, maxPositions, newSequence);
    }

    public BertConfig withVocabSize(int newVocabSize) {
        return new BertConfig(newVocabSize, hidden, layers, heads, ffn, maxPositions, sequence);
    }

    /** Short form for logs and checkpoint metadata. */
    public String describe() {
        return String.format(Locale.ROOT, "vocab %d, hidden %d, layers %d, heads %d, ffn %d, positions %d, sequence %d",
                vocabSize, hidden, layers, heads, ffn, maxPositions, sequence);
    }
}
