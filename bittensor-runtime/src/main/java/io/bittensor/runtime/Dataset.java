package io.bittensor.runtime;

/** A neuron's training and test splits. */
public interface Dataset {
    DataSplit train();

    DataSplit test();

    /** The given splits as a data set. */
    static Dataset of(DataSplit train, DataSplit test) {
        record Of(DataSplit train, DataSplit test) implements Dataset {}
        return new Of(train, test);
    }

    /**
     * This data set cut to its first {@code trainLimit} training and {@code testLimit} test
     * examples; 0 (or a limit at least the split's size) keeps a split whole.
     */
    default Dataset limit(int trainLimit, int testLimit) {
        if ((trainLimit <= 0 || trainLimit >= train().size()) && (testLimit <= 0 || testLimit >= test().size())) {
            return this;
        }
        return of(cut(train(), trainLimit), cut(test(), testLimit));
    }

    private static DataSplit cut(DataSplit split, int n) {
        return n > 0 && n < split.size() ? split.head(n) : split;
    }
}
