package io.bittensor.runtime;

import java.security.SecureRandom;
import picocli.CommandLine.Option;

/**
 * The flags of a training run beyond the neuron flags ({@link NeuronOptions}), as a picocli mixin:
 * {@code --seed --log_interval --steps_per_epoch --train_limit --test_limit}, and on the network
 * {@code --topk} (see {@link #settings}).
 */
public final class RunOptions {
    @Option(names = "--seed", paramLabel = "N",
            description = "Seed for initialisation, shuffling, dropout (and routing). Default: random, logged")
    Long seed;

    @Option(names = "--log_interval", paramLabel = "STEPS", defaultValue = "50",
            converter = NeuronOptions.PositiveIntConverter.class,
            description = "Training steps between metric rows. Default: ${DEFAULT-VALUE}")
    int logInterval;

    @Option(names = "--steps_per_epoch", paramLabel = "N", converter = NeuronOptions.PositiveIntConverter.class,
            description = "Training batches between evaluations; the shuffled order carries on across epochs."
                    + " Default: one pass over the training data")
    Integer stepsPerEpoch;

    @Option(names = "--train_limit", paramLabel = "N", defaultValue = "0", converter = NonNegativeIntConverter.class,
            description = "Train on the first N examples only (0 = all); for quick runs.")
    int trainLimit;

    @Option(names = "--test_limit", paramLabel = "N", defaultValue = "0", converter = NonNegativeIntConverter.class,
            description = "Evaluate on the first N test examples only (0 = all).")
    int testLimit;

    /** --seed, or a random one (the trainer logs it). */
    public long seedOrRandom() {
        return seed != null ? seed : new SecureRandom().nextLong();
    }

    /** The data set cut to --train_limit / --test_limit. */
    public Dataset limit(Dataset all) {
        return all.limit(trainLimit, testLimit);
    }

    /** The trainer's settings from these flags, routing to at most {@code topK} peers. */
    public NeuronTrainer.Settings settings(int topK) {
        return new NeuronTrainer.Settings(seedOrRandom(), logInterval, topK, NeuronTrainer.Settings.defaults(0).evalBatch(),
                stepsPerEpoch == null ? 0 : stepsPerEpoch);
    }

    /** The trainer's settings for a run alone. */
    public NeuronTrainer.Settings settings() {
        return settings(NeuronTrainer.Settings.defaults(0).topK());
    }

    static final class NonNegativeIntConverter implements picocli.CommandLine.ITypeConverter<Integer> {
        @Override
        public Integer convert(String value) {
            int n = NeuronOptions.parseInt(value, "a whole number");
            if (n < 0) {
                throw new picocli.CommandLine.TypeConversionException("must be 0 or more, got " + n);
            }
            return n;
        }
    }
}
