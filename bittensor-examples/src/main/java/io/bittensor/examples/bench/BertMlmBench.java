package io.bittensor.examples.bench;

import io.bittensor.config.NativeBackend;
import io.bittensor.examples.bert.BertConfig;
import io.bittensor.examples.bert.BertModel;
import io.bittensor.examples.bert.MaskedBatch;
import io.bittensor.examples.bert.MlmMasking;
import io.bittensor.examples.bert.TextCorpus;
import io.bittensor.examples.bert.UnigramBaseline;
import io.bittensor.examples.bert.WordPiece;
import io.bittensor.runtime.Evaluation;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import org.nd4j.linalg.learning.config.Adam;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The text model's masked-language-model benchmark on the State of the Union addresses: trains
 * alone for a fixed wall-clock budget and, every few minutes, scores the validation addresses
 * (the last 23, by year) on fixed masks against a unigram model scored on the same masks.
 * Prints a table: validation loss and perplexity, masked-token top-1 accuracy, the gap to the
 * unigram model, and training tokens per second (tokens = batch × sequence per step, evaluation
 * time excluded).
 */
@Command(name = "bert-mlm-bench", mixinStandardHelpOptions = true,
        description = "Trains the BERT-style model alone on SOTU and prints MLM validation loss against a unigram model.")
public final class BertMlmBench implements Callable<Integer> {
    /** The command line running us: bad values are reported on its error stream. */
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;
    @Option(names = "--datapath", defaultValue = "data/", description = "Where the corpus and vocabulary live (fetched if absent). Default: ${DEFAULT-VALUE}")
    Path datapath;
    @Option(names = "--preset", defaultValue = "default", description = "default or original. Default: ${DEFAULT-VALUE}")
    String preset;
    @Option(names = "--minutes", defaultValue = "30", description = "Training budget (wall clock, evaluations included). Default: ${DEFAULT-VALUE}")
    double minutes;
    @Option(names = "--eval_minutes", defaultValue = "3", description = "Minutes between evaluations. Default: ${DEFAULT-VALUE}")
    double evalMinutes;
    @Option(names = "--batch_size", defaultValue = "32", description = "Default: ${DEFAULT-VALUE}")
    int batchSize;
    @Option(names = "--learning_rate", defaultValue = "1e-3", description = "Adam. Default: ${DEFAULT-VALUE}")
    double learningRate;
    @Option(names = "--schedule", defaultValue = "constant",
            description = "constant (Adam at --learning_rate throughout), cosine or linear (a linear warm-up over --warmup_steps,"
                    + " the rate held until the last --decay_fraction of --minutes, then a half cosine or a straight line to 0"
                    + " at the end of --minutes). Default: ${DEFAULT-VALUE}")
    String schedule;
    @Option(names = "--warmup_steps", defaultValue = "100", description = "Warm-up of the cosine and linear schedules. Default: ${DEFAULT-VALUE}")
    int warmupSteps;
    @Option(names = "--decay_fraction", defaultValue = "1",
            description = "The cosine and linear schedules decay over this last fraction of --minutes (0 < F <= 1). Default: ${DEFAULT-VALUE}")
    double decayFraction;
    @Option(names = "--validation_limit", defaultValue = "0", description = "Score only the first N validation sequences (0 = all).")
    int validationLimit;
    @Option(names = "--seed", defaultValue = "1", description = "Default: ${DEFAULT-VALUE}")
    long seed;
    @Option(names = "--pad_target_weight", defaultValue = "0",
            description = "Train the MLM head's padding rows towards [PAD] with this weight relative to a masked token's (0 = off; docs/bert.md). Default: ${DEFAULT-VALUE}")
    double padTargetWeight;
    @Option(names = "--train_mask_rate", defaultValue = "0.15",
            description = "Share of each training sequence's tokens chosen for the MLM loss (80/10/10 as BERT; 0 < R <= 1);"
                    + " validation keeps BERT's 15 %%. Default: ${DEFAULT-VALUE}")
    double trainMaskRate;
    @Option(names = "--eval_at_steps", split = ",", description = "Also evaluate after these step counts (to compare runs at equal steps).")
    List<Long> evalAtSteps = new ArrayList<>();

    public static void main(String[] args) {
        NativeBackend.selectFastest();
        System.exit(new CommandLine(new BertMlmBench()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        BertConfig config = BertConfig.preset(preset);
        if (!List.of("constant", "cosine", "linear").contains(schedule)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--schedule: constant, cosine or linear, got " + schedule);
        }
        if (!(decayFraction > 0 && decayFraction <= 1)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--decay_fraction: 0 < F <= 1, got " + decayFraction);
        }
        if (warmupSteps < 0) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--warmup_steps: >= 0, got " + warmupSteps);
        }
        if (!(padTargetWeight >= 0) || Double.isInfinite(padTargetWeight)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--pad_target_weight: a finite number >= 0, got "
                    + padTargetWeight);
        }
        if (!(trainMaskRate > 0 && trainMaskRate <= 1)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--train_mask_rate: 0 < R <= 1, got " + trainMaskRate);
        }
        long t0 = System.nanoTime();
        WordPiece tokenizer = WordPiece.bertBaseUncased(datapath);
        TextCorpus corpus = TextCorpus.sotu(datapath, tokenizer);
        double loadS = (System.nanoTime() - t0) / 1e9;
        List<int[]> train = MlmMasking.sequences(corpus.train(), config.sequence());
        List<int[]> validation = MlmMasking.sequences(corpus.validation(), config.sequence());
        if (validationLimit > 0 && validation.size() > validationLimit) {
            validation = validation.subList(0, validationLimit);
        }
        MlmMasking masking = MlmMasking.bert(); // validation: BERT's 15 %, whatever training uses
        MlmMasking trainMasking = MlmMasking.bert(trainMaskRate);
        // Fixed validation masks: every evaluation, and the unigram model, see the same ones.
        SplittableRandom valRng = new SplittableRandom(12345);
        List<MaskedBatch> valBatches = new ArrayList<>();
        for (int i = 0; i < validation.size(); i += batchSize) {
            valBatches.add(masking.mask(validation.subList(i, Math.min(validation.size(), i + batchSize)), valRng));
        }
        UnigramBaseline unigram = new UnigramBaseline(corpus.train(), config.vocabSize());
        double uniSum = 0;
        long uniCorrect = 0;
        long masked = 0;
        for (MaskedBatch b : valBatches) {
            uniSum += unigram.loss(b.targets());
            uniCorrect += unigram.correct(b.targets());
            masked += b.targets().length;
        }
        double unigramLoss = uniSum / masked;

        long budget = (long) (minutes * 60e9);
        long start = System.nanoTime(); // the schedule's clock; reset below when training starts
        System.out.printf(Locale.ROOT, "BERT MLM bench: %s; Adam %.1e (%s), batch %d, [PAD] target weight %s,"
                + " training mask rate %s; %s%n",
                config.describe(), learningRate, schedule.equals("constant") ? "constant" : schedule(start, budget),
                batchSize, padTargetWeight, trainMaskRate, NativeBackend.describe());
        System.out.printf(Locale.ROOT, "corpus: %d training addresses (%,d tokens, %,d sequences), %d validation addresses"
                + " %s … %s (%,d tokens, %,d sequences, %,d masked); loaded in %.1f s%n",
                corpus.train().size(), corpus.trainTokens(), train.size(), corpus.validation().size(),
                corpus.validationNames().get(0), corpus.validationNames().get(corpus.validationNames().size() - 1),
                corpus.validationTokens(), validation.size(), masked, loadS);
        System.out.printf(Locale.ROOT, "unigram model on the validation masks: loss %.3f nats (perplexity %.0f), top-1 %.1f %%%n",
                unigramLoss, Math.exp(unigramLoss), 100.0 * uniCorrect / masked);
        System.out.printf(Locale.ROOT, "load average at start: %s%n", loadAverage());
        System.out.println();
        System.out.println("| minutes | steps | train loss | val loss | val ppl | top-1 % | below unigram | train tokens/s | load |");
        System.out.println("|---:|---:|---:|---:|---:|---:|---:|---:|---|");

        long evalEvery = (long) (evalMinutes * 60e9);
        double bestGap = Double.NEGATIVE_INFINITY;
        start = System.nanoTime();
        Adam adam = schedule.equals("constant") ? new Adam(learningRate) : new Adam(schedule(start, budget));
        try (BertModel model = new BertModel(config, seed, adam, padTargetWeight)) {
            SplittableRandom rng = new SplittableRandom(seed);
            Random shuffler = new Random(seed);
            List<int[]> order = new ArrayList<>(train);
            int cursor = order.size();
            long trainNanos = 0;
            long steps = 0;
            double lossSum = 0;
            int lossCount = 0;
            long nextEval = start + evalEvery;
            while (true) {
                long now = System.nanoTime();
                boolean last = now - start >= budget;
                if (now >= nextEval || last || evalAtSteps.contains(steps) && steps > 0) {
                    Eval e = evaluate(model, valBatches);
                    double gap = unigramLoss - e.loss;
                    bestGap = Math.max(bestGap, gap);
                    System.out.printf(Locale.ROOT, "| %.1f | %d | %.3f | %.3f | %.1f | %.1f | %.3f | %.0f | %s |%n",
                            (System.nanoTime() - start) / 60e9, steps, lossCount == 0 ? Double.NaN : lossSum / lossCount,
                            e.loss, Math.exp(e.loss), 100.0 * e.correct / e.masked, gap,
                            steps * (double) batchSize * config.sequence() / (trainNanos / 1e9), loadAverage());
                    lossSum = 0;
                    lossCount = 0;
                    nextEval = System.nanoTime() + evalEvery;
                    if (last) {
                        break;
                    }
                }
                if (cursor + batchSize > order.size()) {
                    Collections.shuffle(order, shuffler);
                    cursor = 0;
                }
                MaskedBatch batch = trainMasking.mask(order.subList(cursor, cursor + batchSize), rng);
                cursor += batchSize;
                long s0 = System.nanoTime();
                lossSum += model.trainLocal(batch).loss();
                trainNanos += System.nanoTime() - s0;
                lossCount++;
                steps++;
            }
        }
        System.out.printf(Locale.ROOT, "%nbest gap below the unigram model: %.3f nats per masked token (goal ≥ 0.8)%n", bestGap);
        return 0;
    }

    private WallClockSchedule schedule(long start, long budget) {
        return new WallClockSchedule(learningRate, warmupSteps,
                schedule.equals("cosine") ? WallClockSchedule.Shape.COSINE : WallClockSchedule.Shape.LINEAR,
                decayFraction, start, budget, System::nanoTime);
    }

    private record Eval(double loss, long correct, long masked) {}

    private static Eval evaluate(BertModel model, List<MaskedBatch> batches) {
        double sum = 0;
        long correct = 0;
        long masked = 0;
        for (MaskedBatch b : batches) {
            Evaluation e = model.evaluate(b);
            sum += e.loss() * e.count();
            correct += e.correct();
            masked += e.count();
        }
        return new Eval(sum / masked, correct, masked);
    }

    private static String loadAverage() {
        return String.format(Locale.ROOT, "%.2f", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
    }
}
