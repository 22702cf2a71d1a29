package io.bittensor.examples.bert;

import io.bittensor.neuron.InvalidInputException;
import io.bittensor.neuron.ServedInputs;
import io.bittensor.proto.Modality;
import io.bittensor.proto.ReturnCode;
import io.bittensor.proto.ServedInput;
import io.bittensor.runtime.Batch;
import io.bittensor.runtime.Evaluation;
import io.bittensor.runtime.NeuronModel;
import io.bittensor.runtime.NeuronSpec;
import io.bittensor.runtime.ParameterUpdaters;
import io.bittensor.runtime.ServedBackward;
import io.bittensor.runtime.StepResult;
import io.bittensor.runtime.TestResult;
import io.bittensor.tensor.CachedGradients;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Locale;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;
import org.nd4j.autodiff.listeners.Listener;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.api.OutAndGrad;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.controlflow.compat.StopGradient;
import org.nd4j.linalg.api.ops.impl.scatter.ScatterAdd;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.BooleanIndexing;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.indexing.conditions.Conditions;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;

/**
 * The text neuron's model, after the original's BERT masked-language-model synapse, as one
 * SameDiff graph plus two embedding tables.
 *
 * <pre>
 * ids [b,t] ─ E[ids] + P[0..t) (outside the graph) ─▶ embedded [b,t,H] ─ layer norm
 *   ─ L × { multi-head self-attention (padding mask) + residual, layer norm,
 *           FFN (gelu) + residual, layer norm } ─▶ hidden [N=b·t, H]
 * student:  stop(hidden) ─ H→H relu ─ H→512 ─▶ student [N,512]        (learns only by distillation)
 * served:   (hidden ⊕ student) ─ joiner (H+512→512) ─▶ output [N,512]  (forwardText)
 * MLM, at masked positions only (select [m,N] · rows):
 *   local:  joiner(hidden ⊕ stop(student)) ─ dense H, gelu, LN ─ ·Eᵀ + bias ─▶ logits [m,V] → local_loss
 *   remote: joiner(hidden ⊕ network)       ─ same head                      ─▶ remote_loss
 *   distill: MSE(student, stop(network))
 * </pre>
 *
 * <p>Why the embeddings sit outside the graph: SameDiff M2.1's {@code gather} has a broken
 * gradient (wrong rows, repeated ids dropped) and a one-hot product costs V·H per token. Rows are
 * pulled natively, the graph's gradient with respect to {@code embedded} is scatter-added into the
 * tables, and the token table doubles as the output layer (tied, as BERT), so it is also a graph
 * variable and collects the output layer's gradient there.
 *
 * <p>Only masked rows reach the 30 522-way softmax: a selection matrix {@code [m, N]} picks them
 * (a product, whose gradient is exact) before the joiner and the head.
 *
 * <p>Unlike the original, the student is a small net over the (stopped) encoder output instead of
 * a second transformer: it costs a tenth as much, as the MNIST neuron's student does.
 *
 * <p>As the runtime's {@link NeuronModel} (TEXT): it trains on {@link MaskedBatch}es, routes on the
 * encoder's output at [CLS], serves {@code [b, t]} ids → {@code [b, t, 512]} and refuses what it
 * cannot take (a sequence longer than its positions: {@code BAD_SHAPE}; an id outside the
 * vocabulary: {@code MALFORMED_TENSOR}), and reports masked-token loss, perplexity and top-1.
 *
 * <p>Threads: the training thread owns the model it trains; serve a {@link #copy()}. Calls on one
 * instance are serialized.
 */
public final class BertModel implements NeuronModel {
    public static final int NETWORK_DIM = 512;

    static final String TOK_EMB = "tok_emb";
    static final String POS_EMB = "pos_emb";

    private static final String EMBEDDED = "embedded";
    private static final String ATTN_MASK = "attn_mask";
    private static final String SELECT = "select";
    private static final String NETWORK = "network";
    private static final String SERVED_GRAD = "served_grad";
    private static final String OUTPUT = "output";
    private static final String HIDDEN = "hidden";
    private static final String STUDENT = "student";
    static final String VOCAB_B = "vocab_b";
    /** The heads' transforms, {@code [rows, H]}: what the tied output layer reads. */
    private static final String LOCAL_T = "local_transform";
    private static final String REMOTE_T = "remote_transform";
    /** d loss / d transform from {@link TiedOutputHead}, fed back into the graph. */
    private static final String LOCAL_T_GRAD = "local_transform_grad";
    private static final String REMOTE_T_GRAD = "remote_transform_grad";
    /** sum(transform ⊙ its gradient): the graph's gradient of it is the loss's (the head's part is outside). */
    private static final String LOCAL_OBJECTIVE = "local_objective";
    private static final String TOTAL_OBJECTIVE = "total_objective";
    private static final String DISTILL_LOSS = "distill_loss";
    private static final String SERVED_LOSS = "served_loss";

    static final String MODEL_ID = "bittensor-bert-mlm-v1";
    /** The neuron's name: its synapse key is derived from it. */
    public static final String NAME = "bert";
    /** Adam's rate unless --learning_rate says otherwise (the rate PyTorch was measured with). */
    public static final double DEFAULT_LEARNING_RATE = 1e-3;
    /** Checkpoint file in datapath when --model_path is not given. */
    public static final String DEFAULT_MODEL_FILE = "bert-model.ckpt";
    /**
     * Peers' gradients the served snapshot holds for the training thread, at most: each holds the
     * token table's (30 522 × H floats, 15.6 MB at H = 128).
     */
    static final int GRADIENT_QUEUE = 16;

    private static final double LAYER_NORM_EPS = 1e-12; // BERT's

    private enum Mode { LOCAL, NETWORK, SERVED }

    private final BertConfig config;
    private final IUpdater updaterConfig;
    private final SameDiff sd;
    private final List<String> graphParameters;
    private final List<String> localParameters;
    private final List<String> servedParameters;
    private final List<String> parameterNames;
    /** Parameters outside the graph: the token table (tied output layer), the vocabulary bias, the positions. */
    private final INDArray tokens;
    private final INDArray vocabBias;
    private final INDArray positions;
    private final ParameterUpdaters updaters;
    private final TiedOutputHead head;
    /** Weight of the MLM head's padding rows' [PAD] target in training, relative to a real row's (0: none). */
    private final double padTargetWeight;
    /** The tied output layer's gradient of the last training step (reused: ~15.6 MB at H = 128). */
    private INDArray tokenGrad;
    private INDArray vocabBiasGrad;
    private Mode mode;

    /**
     * @param config  sizes
     * @param seed    initial weights
     * @param updater the optimizer (for example Adam 1e-3)
     */
    public BertModel(BertConfig config, long seed, IUpdater updater) {
        this(config, seed, updater, 0);
    }

    /**
     * A model whose MLM head also trains its padding rows towards [PAD].
     *
     * <p>The head runs on a fixed number of rows (the masked positions, padded for SameDiff's
     * array cache); a padding row selects no position, so its input is the joiner's bias alone.
     * With {@code padTargetWeight} w &gt; 0 each such row adds w × a real row's weight of cross
     * entropy towards [PAD] to the training objective (never to the reported loss). This is what
     * M2.1's broken {@code sparseSoftmaxCrossEntropy} backward did by accident before commit
     * 6b1025a (with w = 1); docs/bert.md says what it does to learning.
     *
     * @param padTargetWeight w ≥ 0 (0: padding rows count for nothing, as in the plain constructor)
     */
    public BertModel(BertConfig config, long seed, IUpdater updater, double padTargetWeight) {
        this.config = Objects.requireNonNull(config, "config");
        this.updaterConfig = Objects.requireNonNull(updater, "updater");
        this.sd = SameDiff.create();
        SplittableRandom rng = new SplittableRandom(seed);
        // Drawn first, as when the table was a graph variable: a seed gives the same weights as before.
        this.tokens = normal(rng, 0.02, config.vocabSize(), config.hidden());
        List<String> names = build(sd, config, rng);
        this.vocabBias = Nd4j.zeros(DataType.FLOAT, config.vocabSize());
        this.graphParameters = names.stream().filter(n -> !n.equals(TOK_EMB) && !n.equals(VOCAB_B)).toList();
        this.localParameters = graphParameters.stream().filter(n -> !n.startsWith("student")).toList();
        // Asking SameDiff for the gradient of a variable the loss does not reach returns an
        // uninitialised array (it once poisoned a swarm with NaN): the served output never
        // reaches the MLM head.
        this.servedParameters = graphParameters.stream().filter(n -> !n.startsWith("head_")).toList();
        this.positions = normal(rng, 0.02, config.maxPositions(), config.hidden());
        List<String> all = new ArrayList<>(names); // the order checkpoints were written in
        all.add(POS_EMB);
        this.parameterNames = Collections.unmodifiableList(all);
        this.updaters = new ParameterUpdaters(updater, parameterNames, this::param);
        this.padTargetWeight = padTargetWeight;
        this.head = new TiedOutputHead(config.vocabSize(), config.hidden(), padTargetWeight);
    }

    /** The text neuron for the runtime: this model of {@code config}'s size under Adam. */
    public static NeuronSpec<BertModel> spec(BertConfig config) {
        return new NeuronSpec<>(NAME, DEFAULT_LEARNING_RATE, DEFAULT_MODEL_FILE,
                (seed, rate, steps) -> new BertModel(config, seed, new Adam(rate)));
    }

    public BertConfig config() {
        return config;
    }

    // ---------------------------------------------------------------- graph

    private static List<String> build(SameDiff sd, BertConfig c, SplittableRandom rng) {
        List<String> params = new ArrayList<>();
        int h = c.hidden();
        SDVariable embedded = sd.placeHolder(EMBEDDED, DataType.FLOAT, -1, -1, h);
        SDVariable attnMask = sd.placeHolder(ATTN_MASK, DataType.FLOAT, -1, -1);
        SDVariable select = sd.placeHolder(SELECT, DataType.FLOAT, -1, -1);
        SDVariable localTGrad = sd.placeHolder(LOCAL_T_GRAD, DataType.FLOAT, -1, h);
        SDVariable remoteTGrad = sd.placeHolder(REMOTE_T_GRAD, DataType.FLOAT, -1, h);
        SDVariable network = sd.placeHolder(NETWORK, DataType.FLOAT, -1, NETWORK_DIM);
        SDVariable servedGrad = sd.placeHolder(SERVED_GRAD, DataType.FLOAT, -1, NETWORK_DIM);

        params.add(TOK_EMB); // outside the graph (the constructor draws it first)
        SDVariable shape3 = sd.shape(embedded);

        SDVariable x = layerNorm(sd, rng, params, "emb_ln", sd.reshape(embedded, -1, h), h);
        int perHead = h / c.heads();
        for (int l = 0; l < c.layers(); l++) {
            String p = "layer" + l + "_";
            // multiHeadDotProductAttention takes [batch, features, time].
            SDVariable xt = sd.permute(sd.reshape(x, shape3), 0, 2, 1);
            SDVariable wq = var(sd, params, p + "wq", normal(rng, 0.02, c.heads(), perHead, h));
            SDVariable wk = var(sd, params, p + "wk", normal(rng, 0.02, c.heads(), perHead, h));
            SDVariable wv = var(sd, params, p + "wv", normal(rng, 0.02, c.heads(), perHead, h));
            SDVariable wo = var(sd, params, p + "wo", normal(rng, 0.02, h, h));
            SDVariable att = sd.nn.multiHeadDotProductAttention(xt, xt, xt, wq, wk, wv, wo, attnMask, true);
            SDVariable att2 = sd.reshape(sd.permute(att, 0, 2, 1), -1, h)
                    .add(var(sd, params, p + "bo", Nd4j.zeros(DataType.FLOAT, h)));
            x = layerNorm(sd, rng, params, p + "ln1", x.add(att2), h);
            SDVariable f = gelu(sd, linear(sd, rng, params, p + "ffn1", x, h, c.ffn()));
            f = linear(sd, rng, params, p + "ffn2", f, c.ffn(), h);
            x = layerNorm(sd, rng, params, p + "ln2", x.add(f), h);
        }
        SDVariable hidden = sd.identity(HIDDEN, x);

        SDVariable s = sd.nn.relu(linear(sd, rng, params, "student1", stop(sd, hidden), h, h), 0);
        SDVariable student = linear(sd, rng, params, "student2", s, h, NETWORK_DIM).rename(STUDENT);

        // The joiner as two halves of one (H+512)×512 matrix: x·Wh + ctx·Wc + b.
        SDVariable wjh = var(sd, params, "joiner_wh", normal(rng, 0.02, h, NETWORK_DIM));
        SDVariable wjc = var(sd, params, "joiner_wc", normal(rng, 0.02, NETWORK_DIM, NETWORK_DIM));
        SDVariable bj = var(sd, params, "joiner_b", Nd4j.zeros(DataType.FLOAT, NETWORK_DIM));
        hidden.mmul(wjh).add(student.mmul(wjc)).add(OUTPUT, bj);

        SDVariable selHidden = select.mmul(hidden);
        SDVariable localJoined = selHidden.mmul(wjh).add(stop(sd, select.mmul(student)).mmul(wjc)).add(bj);
        SDVariable remoteJoined = selHidden.mmul(wjh).add(select.mmul(network).mmul(wjc)).add(bj);

        SDVariable wt = var(sd, params, "head_w", normal(rng, 0.02, NETWORK_DIM, h));
        SDVariable bt = var(sd, params, "head_b", Nd4j.zeros(DataType.FLOAT, h));
        SDVariable lnG = var(sd, params, "head_ln_g", Nd4j.ones(DataType.FLOAT, h));
        SDVariable lnB = var(sd, params, "head_ln_b", Nd4j.zeros(DataType.FLOAT, h));
        params.add(VOCAB_B); // outside the graph
        // The tied output layer and the cross entropy run in TiedOutputHead; the graph ends at the
        // heads' transforms and takes their gradients back as placeholders.
        SDVariable localT = headTransform(sd, localJoined, wt, bt, lnG, lnB).rename(LOCAL_T);
        SDVariable remoteT = headTransform(sd, remoteJoined, wt, bt, lnG, lnB).rename(REMOTE_T);
        SDVariable localObjective = localT.mul(localTGrad).sum().rename(LOCAL_OBJECTIVE);
        // Mean over all elements, as torch's F.mse_loss.
        SDVariable distill = student.sub(stop(sd, network)).mul(student.sub(stop(sd, network))).mean()
                .rename(DISTILL_LOSS);
        localObjective.add(remoteT.mul(remoteTGrad).sum()).add(TOTAL_OBJECTIVE, distill);

        sd.getVariable(OUTPUT).mul(servedGrad).sum(SERVED_LOSS);
        return params;
    }

    /** The MLM head's transform: dense H, gelu, layer norm (the tied output layer reads it). */
    private static SDVariable headTransform(SameDiff sd, SDVariable joined, SDVariable wt, SDVariable bt,
            SDVariable lnG, SDVariable lnB) {
        return normalize(sd, gelu(sd, joined.mmul(wt).add(bt)), lnG, lnB);
    }

    /**
     * gelu as x·σ(1.702x), from primitives. SameDiff M2.1's fused {@code gelu} computes its
     * derivative as e^(1.702x)(1 + e^(1.702x) + 1.702x) / (1 + e^(1.702x))², which is ∞/∞ = NaN for
     * x above about 26: a head fed a peer's larger answers hit that and turned the whole model NaN.
     * The sigmoid's own derivative, σ(1 − σ), stays finite everywhere.
     */
    static SDVariable gelu(SameDiff sd, SDVariable x) {
        return x.mul(sd.nn.sigmoid(x.mul(1.702)));
    }

    private static SDVariable layerNorm(SameDiff sd, SplittableRandom rng, List<String> params, String name,
            SDVariable x, int width) {
        SDVariable g = var(sd, params, name + "_g", Nd4j.ones(DataType.FLOAT, width));
        SDVariable b = var(sd, params, name + "_b", Nd4j.zeros(DataType.FLOAT, width));
        return normalize(sd, x, g, b);
    }

    /**
     * Layer norm over the last axis of {@code [N, width]}, from primitives (mean, variance, sqrt),
     * whose gradients are plain ops; the fused {@code layerNorm} gave the same gradients in our
     * central-difference check, so either would do.
     */
    private static SDVariable normalize(SameDiff sd, SDVariable x, SDVariable gain, SDVariable bias) {
        SDVariable centered = x.sub(x.mean(true, 1));
        SDVariable std = sd.math.sqrt(centered.mul(centered).mean(true, 1).add(LAYER_NORM_EPS));
        return centered.div(std).mul(gain).add(bias);
    }

    private static SDVariable linear(SameDiff sd, SplittableRandom rng, List<String> params, String name,
            SDVariable x, int in, int out) {
        SDVariable w = var(sd, params, name + "_w", normal(rng, 0.02, in, out));
        SDVariable b = var(sd, params, name + "_b", Nd4j.zeros(DataType.FLOAT, out));
        return x.mmul(w).add(b);
    }

    private static SDVariable var(SameDiff sd, List<String> params, String name, INDArray init) {
        params.add(name);
        return sd.var(name, init);
    }

    private static SDVariable stop(SameDiff sd, SDVariable v) {
        return new StopGradient(sd, v).outputVariable();
    }

    /** N(0, std²) weights, as BERT's initializer. */
    private static INDArray normal(SplittableRandom rng, double std, long... shape) {
        long n = Arrays.stream(shape).reduce(1, (a, b) -> a * b);
        float[] v = new float[Math.toIntExact(n)];
        java.util.Random gaussian = new java.util.Random(rng.nextLong());
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (gaussian.nextGaussian() * std);
        }
        return Nd4j.create(v, shape, DataType.FLOAT);
    }

    // ---------------------------------------------------------------- training

    /** One optimizer step on the local loss alone. */
    @Override
    public synchronized StepResult trainLocal(Batch batch) {
        Step s = step(MaskedBatch.of(batch), null);
        updaters.applyConsuming(s.grads());
        release(s.grads());
        return s.result();
    }

    /**
     * One step with the network's answer: loss = local + remote + distillation.
     *
     * @param network the router's combined peer output {@code [b,t,512]}; zeros where no peer answered
     * @return the losses, and d loss / d network ({@code [b,t,512]}) for the peers' Backward
     */
    @Override
    public synchronized StepResult trainWithNetwork(Batch batch, INDArray network) {
        Objects.requireNonNull(network, "network");
        Step s = step(MaskedBatch.of(batch), network);
        updaters.applyConsuming(s.grads());
        release(s.grads());
        return s.result();
    }

    /**
     * Frees a consumed step's gradient arrays now (SameDiff hands back fresh ones each step; left
     * to the garbage collector, their native memory is freed late and every step's arrays land on
     * fresh pages: page faults and zero-filling were a fifth of the step). The head's reused
     * buffers stay.
     */
    private void release(Map<String, INDArray> grads) {
        for (INDArray g : grads.values()) {
            if (g != tokenGrad && g != vocabBiasGrad && g.closeable()) {
                g.close();
            }
        }
    }

    /** A step's figures and its parameter gradients (SameDiff's arrays: valid until the next call). */
    record Step(StepResult result, Map<String, INDArray> grads) {}

    /**
     * The losses and gradients of one step, without changing the parameters: local alone when
     * {@code network} is null, else local + remote + distillation (and d loss / d network).
     */
    synchronized Step step(MaskedBatch batch, INDArray network) {
        useMode(network == null ? Mode.LOCAL : Mode.NETWORK);
        Map<String, INDArray> ph = inputs(batch);
        int[] targets = batch.targets();
        if (network != null) {
            putNetwork(ph, batch, network);
        }
        ensureHeadGrads();
        INDArray[] dT = new INDArray[1];
        if (network == null) {
            // One run of the graph's gradient function: when it has computed the head's transform
            // t, a listener runs the tied output layer and its loss outside the graph
            // (TiedOutputHead) and writes d t into the placeholder the rest of the run reads (the
            // head's own buffer), so the encoder's forward runs once a step, not twice.
            INDArray dTBuffer = head.gradientBuffer((int) ph.get(SELECT).size(0));
            ph.put(LOCAL_T_GRAD, dTBuffer);
            TiedOutputHead.Score[] local = new TiedOutputHead.Score[1];
            Listener headListener = CachedGradients.onActivation(LOCAL_T, t -> local[0] = head.train(t, tokens, vocabBias, targets,
                    tokenGrad, vocabBiasGrad, false, dT));
            List<String> wanted = new ArrayList<>(localParameters);
            wanted.add(EMBEDDED);
            OutAndGrad r = CachedGradients.run(sd, ph, List.of(), wanted, List.of(headListener));
            if (local[0] == null || dT[0] != dTBuffer) {
                throw new IllegalStateException("the head's transform was not seen during the gradient run");
            }
            StepResult result = new StepResult(local[0].loss(), local[0].loss(), Double.NaN, Double.NaN,
                    local[0].correct(), targets.length, null);
            return new Step(result, withEmbeddingGrads(withHeadGrads(r.getGradients()), batch.inputIds(),
                    batch.batch(), batch.sequence()));
        }
        // With the network: the graph's forward to both heads' transforms, the tied output layer
        // and its loss outside (TiedOutputHead), then the gradient function fed the transforms'
        // gradients (the encoder's forward runs twice here).
        Map<String, INDArray> t = sd.output(ph, LOCAL_T, REMOTE_T);
        TiedOutputHead.Score local = head.train(t.get(LOCAL_T), tokens, vocabBias, targets, tokenGrad, vocabBiasGrad,
                false, dT);
        ph.put(LOCAL_T_GRAD, dT[0].dup()); // the head's buffer is reused by the remote head below
        TiedOutputHead.Score remote = head.train(t.get(REMOTE_T), tokens, vocabBias, targets, tokenGrad,
                vocabBiasGrad, true, dT);
        ph.put(REMOTE_T_GRAD, dT[0]);
        List<String> wanted = new ArrayList<>(graphParameters);
        wanted.add(EMBEDDED);
        wanted.add(NETWORK);
        OutAndGrad r = gradientsAndOutputs(ph, List.of(DISTILL_LOSS), wanted);
        Map<String, INDArray> grads = new LinkedHashMap<>(r.getGradients());
        // A copy: it goes to the peers on another thread while this model runs its next step.
        INDArray networkGrad = grads.remove(NETWORK).dup('c');
        double distill = r.getOutputs().get(DISTILL_LOSS).getDouble(0);
        StepResult result = new StepResult(local.loss() + remote.loss() + distill, local.loss(), remote.loss(), distill,
                local.correct(), targets.length, networkGrad.reshape('c', batch.batch(), batch.sequence(), NETWORK_DIM));
        return new Step(result, withEmbeddingGrads(withHeadGrads(grads), batch.inputIds(), batch.batch(),
                batch.sequence()));
    }

    /** The tied output layer's gradient buffers, made once. */
    private void ensureHeadGrads() {
        if (tokenGrad == null) {
            tokenGrad = Nd4j.create(DataType.FLOAT, config.vocabSize(), config.hidden());
            vocabBiasGrad = Nd4j.create(DataType.FLOAT, config.vocabSize());
        }
    }

    /** The graph's gradients plus the output layer's (the token table's gets the embedding's added later). */
    private Map<String, INDArray> withHeadGrads(Map<String, INDArray> graphGrads) {
        Map<String, INDArray> grads = new LinkedHashMap<>(graphGrads);
        grads.put(TOK_EMB, tokenGrad);
        grads.put(VOCAB_B, vocabBiasGrad);
        return grads;
    }

    /**
     * The objective {@link #step} minimises, forward only (tests compare its differences with the
     * gradients): the reported loss, plus the padding rows' [PAD] term when there is one.
     */
    synchronized double loss(MaskedBatch batch, INDArray network) {
        Map<String, INDArray> ph = inputs(batch);
        if (network == null) {
            INDArray t = sd.output(ph, LOCAL_T).get(LOCAL_T);
            return head.score(t, tokens, vocabBias, batch.targets()).objective();
        }
        putNetwork(ph, batch, network);
        Map<String, INDArray> o = sd.output(ph, LOCAL_T, REMOTE_T, DISTILL_LOSS);
        return head.score(o.get(LOCAL_T), tokens, vocabBias, batch.targets()).objective()
                + head.score(o.get(REMOTE_T), tokens, vocabBias, batch.targets()).objective()
                + o.get(DISTILL_LOSS).getDouble(0);
    }

    /** The network's answer as a placeholder, {@code [b·t, 512]}, NaN as silence. */
    private void putNetwork(Map<String, INDArray> ph, MaskedBatch batch, INDArray network) {
        long n = (long) batch.batch() * batch.sequence();
        if (network.length() != n * NETWORK_DIM) {
            throw new IllegalArgumentException("network output must be [" + batch.batch() + ", " + batch.sequence()
                    + ", 512], got " + Arrays.toString(network.shape()));
        }
        INDArray net = network.castTo(DataType.FLOAT).dup('c').reshape('c', n, NETWORK_DIM);
        BooleanIndexing.replaceWhere(net, 0.0, Conditions.isNan()); // as the original: a peer's NaN counts as silence
        ph.put(NETWORK, net);
    }

    /**
     * The router's context: the encoder's output at each sequence's first position ([CLS]),
     * {@code [b, H]}, for a batch's (masked) ids {@code [b, t]}; [PAD] positions are not attended to.
     */
    @Override
    public synchronized INDArray routerContext(INDArray ids) {
        int b = (int) ids.size(0);
        int t = (int) ids.size(1);
        int[] flat = ids.castTo(DataType.INT).dup('c').data().asInt();
        Map<String, INDArray> ph = new LinkedHashMap<>();
        ph.put(EMBEDDED, embed(flat, b, t));
        ph.put(ATTN_MASK, paddingMask(flat, b, t));
        INDArray hidden = sd.outputSingle(ph, HIDDEN).reshape('c', b, t, config.hidden());
        return hidden.get(NDArrayIndex.all(), NDArrayIndex.point(0), NDArrayIndex.all()).dup('c');
    }

    /** Peers get the ids as they are: {@code [b, t]} int64. */
    @Override
    public INDArray remoteInputs(INDArray ids) {
        return ids.dataType() == DataType.LONG ? ids : ids.castTo(DataType.LONG);
    }

    /** Local-head loss and top-1 hits on a batch, without training. */
    @Override
    public synchronized Evaluation evaluate(Batch batch) {
        MaskedBatch m = MaskedBatch.of(batch);
        INDArray t = sd.output(inputs(m), LOCAL_T).get(LOCAL_T);
        TiedOutputHead.Score s = head.score(t, tokens, vocabBias, m.targets());
        return new Evaluation(s.loss(), s.correct(), m.targets().length);
    }

    /** Per masked token: {@code validation loss 6.4270 nats per masked token (perplexity 618.4), top-1 11.70 % (…)}. */
    @Override
    public String describe(TestResult t) {
        return String.format(Locale.ROOT, "validation loss %.4f nats per masked token (perplexity %.1f), top-1 %.2f %%"
                + " (%d/%d masked tokens)", t.loss(), Math.exp(t.loss()), 100 * t.accuracy(), t.correct(), t.count());
    }

    /**
     * Applies parameter gradients with this model's optimizer (one step): the training steps', and
     * those that peers' Backward calls produced on a served copy. Unknown names are ignored.
     */
    @Override
    public synchronized void applyGradients(Map<String, INDArray> grads) {
        updaters.apply(grads);
    }

    /** {@code a} itself when it is a whole c-ordered buffer (reshapes are then views), else a copy. */
    private static INDArray contiguous(INDArray a) {
        return !a.isView() && a.ordering() == 'c' ? a : a.dup('c');
    }

    // ---------------------------------------------------------------- serving

    @Override
    public Modality modality() {
        return Modality.TEXT;
    }

    /** TEXT ids below the vocabulary: what routers may send us. */
    @Override
    public List<ServedInput> serves() {
        return List.of(ServedInputs.text(config.vocabSize()));
    }

    /** A peer's Forward: ids it may send are checked first ({@link #refuseUnservable}). */
    @Override
    public INDArray forward(INDArray ids) {
        refuseUnservable(ids);
        return forwardText(ids);
    }

    /** A peer's Backward: zeros of the ids' shape for the caller (ids have no gradient), the parameters' gradients. */
    @Override
    public ServedBackward backward(INDArray ids, INDArray gradOutputs) {
        refuseUnservable(ids);
        return backwardText(ids, gradOutputs);
    }

    /**
     * Refuses, with the code the Axon answers, what this model cannot take, before it runs: a
     * sequence longer than its positions ({@code BAD_SHAPE}), ids that are not integers
     * ({@code BAD_DTYPE}) or outside the vocabulary ({@code MALFORMED_TENSOR}).
     */
    void refuseUnservable(INDArray ids) {
        if (ids.rank() != 2) {
            throw new InvalidInputException(ReturnCode.BAD_SHAPE, "TEXT ids must be [batch, seq], got rank " + ids.rank());
        }
        if (ids.size(1) > config.maxPositions()) {
            throw new InvalidInputException(ReturnCode.BAD_SHAPE, "sequence length " + ids.size(1)
                    + " exceeds this model's " + config.maxPositions() + " positions");
        }
        if (!ids.dataType().isIntType()) {
            throw new InvalidInputException(ReturnCode.BAD_DTYPE, "TEXT ids must be integers, got " + ids.dataType());
        }
        long min = ids.minNumber().longValue();
        long max = ids.maxNumber().longValue();
        if (min < 0 || max >= config.vocabSize()) {
            throw new InvalidInputException(ReturnCode.MALFORMED_TENSOR, "token id " + (min < 0 ? min : max)
                    + " is outside this model's vocabulary [0, " + config.vocabSize() + ")");
        }
    }

    @Override
    public int gradientQueueCapacity() {
        return GRADIENT_QUEUE;
    }

    /** Token ids {@code [b,t]} (any integer type) → {@code [b,t,512]}, the joined local output. */
    public synchronized INDArray forwardText(INDArray ids) {
        long[] s = checkIds(ids);
        int[] flat = ids.castTo(DataType.INT).dup('c').data().asInt();
        Map<String, INDArray> ph = new LinkedHashMap<>();
        ph.put(EMBEDDED, embed(flat, (int) s[0], (int) s[1]));
        ph.put(ATTN_MASK, paddingMask(flat, (int) s[0], (int) s[1]));
        // A copy: SameDiff recycles its output arrays on the next call, and the Axon encodes this
        // one after we return.
        return sd.outputSingle(ph, OUTPUT).dup('c').reshape('c', s[0], s[1], NETWORK_DIM);
    }

    /**
     * Backward for a peer: the gradients of {@code sum(gradOutput ⊙ forwardText(ids))} with respect
     * to this model's parameters; token ids themselves have no gradient (zeros of their shape).
     */
    public synchronized ServedBackward backwardText(INDArray ids, INDArray gradOutput) {
        long[] s = checkIds(ids);
        if (!Arrays.equals(gradOutput.shape(), new long[] {s[0], s[1], NETWORK_DIM})) {
            throw new IllegalArgumentException("gradOutput has shape " + Arrays.toString(gradOutput.shape())
                    + ", expected [" + s[0] + ", " + s[1] + ", " + NETWORK_DIM + "]");
        }
        useMode(Mode.SERVED);
        int b = (int) s[0];
        int t = (int) s[1];
        int[] flat = ids.castTo(DataType.INT).dup('c').data().asInt();
        Map<String, INDArray> ph = new LinkedHashMap<>();
        ph.put(EMBEDDED, embed(flat, b, t));
        ph.put(ATTN_MASK, paddingMask(flat, b, t));
        ph.put(SERVED_GRAD, gradOutput.castTo(DataType.FLOAT).reshape('c', (long) b * t, NETWORK_DIM));
        List<String> wanted = new ArrayList<>(servedParameters);
        wanted.add(EMBEDDED);
        Map<String, INDArray> g = new LinkedHashMap<>();
        // Copies: these wait in a queue while SameDiff recycles its arrays on later calls.
        gradientsAndOutputs(ph, List.of(), wanted).getGradients().forEach((k, v) -> g.put(k, v.dup('c')));
        return new ServedBackward(Nd4j.zeros(DataType.FLOAT, ids.shape()), withEmbeddingGrads(g, flat, b, t));
    }

    /** Outputs and gradients with SameDiff's array cache on ({@link CachedGradients}): valid until the next call. */
    private OutAndGrad gradientsAndOutputs(Map<String, INDArray> placeholders, List<String> outputs,
            List<String> gradientsOf) {
        return CachedGradients.run(sd, placeholders, outputs, gradientsOf);
    }

    private long[] checkIds(INDArray ids) {
        long[] s = ids.shape();
        if (s.length != 2 || s[0] < 1 || s[1] < 1) {
            throw new IllegalArgumentException("token ids must be [batch, seq], got " + Arrays.toString(s));
        }
        if (s[1] > config.maxPositions()) {
            throw new IllegalArgumentException("sequence " + s[1] + " exceeds " + config.maxPositions() + " positions");
        }
        if (ids.length() > 0) {
            long min = ids.minNumber().longValue();
            long max = ids.maxNumber().longValue();
            if (min < 0 || max >= config.vocabSize()) {
                throw new IllegalArgumentException("token ids must be in [0, " + config.vocabSize() + "), got "
                        + (min < 0 ? min : max));
            }
        }
        return s;
    }

    // ---------------------------------------------------------------- embeddings outside the graph

    private Map<String, INDArray> inputs(MaskedBatch batch) {
        int b = batch.batch();
        int t = batch.sequence();
        if (t > config.maxPositions()) {
            throw new IllegalArgumentException("sequence " + t + " exceeds " + config.maxPositions() + " positions");
        }
        Map<String, INDArray> ph = new LinkedHashMap<>();
        ph.put(EMBEDDED, embed(batch.inputIds(), b, t));
        ph.put(ATTN_MASK, Nd4j.create(batch.attention(), new long[] {b, t}, 'c'));
        int m = batch.maskedPositions().length;
        int slots = maskSlots(b, t, batch.maskedPositions());
        INDArray select = Nd4j.zeros(DataType.FLOAT, slots, (long) b * t);
        for (int i = 0; i < m; i++) {
            select.putScalar(i, batch.maskedPositions()[i], 1f);
        }
        ph.put(SELECT, select); // rows past the masked ones select nothing: the head's padding
        return ph;
    }

    /**
     * Rows of the MLM head for a batch: the masked positions padded to a count fixed by the batch's
     * shape and its masking rate, {@code b} × the larger of 15 % of {@code t} and the batch's most
     * masked row. SameDiff M2.1 reuses its arrays only for the exact same shape; with a head whose
     * row count changed every step, allocating fresh [rows, 30 522] arrays took more time than the
     * step's arithmetic. At BERT's 15 % that is {@code b × round(0.15 t)} (320 at 32 × 64); a
     * higher training rate gets its own fixed count (any batch with one full row: 512 at 25 %).
     *
     * @param positions flat masked positions {@code row × t + column}
     */
    static int maskSlots(int b, int t, int[] positions) {
        int[] perRow = new int[b];
        int most = 0;
        for (int p : positions) {
            most = Math.max(most, ++perRow[p / t]);
        }
        return b * Math.max(most, Math.max(1, (int) Math.round(MlmMasking.MASK_FRACTION * t)));
    }

    /** E[ids] + P[0..t), as {@code [b,t,H]}. */
    private INDArray embed(int[] ids, int b, int t) {
        int h = config.hidden();
        INDArray tok = Nd4j.pullRows(tokens, 1, ids); // [b·t, H], a fresh array
        INDArray pos = positions.get(NDArrayIndex.interval(0, t), NDArrayIndex.all()).dup('c').reshape(1, (long) t * h);
        return tok.reshape('c', b, (long) t * h).addiRowVector(pos).reshape('c', b, t, h);
    }

    /** The graph's gradients plus the tables': d embedded scatter-added into E's rows and summed into P's. */
    private Map<String, INDArray> withEmbeddingGrads(Map<String, INDArray> graphGrads, int[] ids, int b, int t) {
        Map<String, INDArray> grads = new LinkedHashMap<>(graphGrads);
        int h = config.hidden();
        // No copies: SameDiff's gradient arrays are ours until the next call on this model.
        INDArray dEmb = contiguous(grads.remove(EMBEDDED));
        INDArray dTok = grads.get(TOK_EMB); // the output layer's, when training
        dTok = dTok == null ? Nd4j.zeros(DataType.FLOAT, config.vocabSize(), h) : contiguous(dTok);
        // In place: the op's output is its input array (repeated ids accumulate).
        ScatterAdd scatter = new ScatterAdd(dTok, Nd4j.createFromArray(ids), dEmb.reshape('c', (long) b * t, h));
        scatter.addOutputArgument(dTok);
        Nd4j.exec(scatter);
        grads.put(TOK_EMB, dTok);
        INDArray dPos = Nd4j.zeros(DataType.FLOAT, config.maxPositions(), h);
        dPos.get(NDArrayIndex.interval(0, t), NDArrayIndex.all())
                .assign(dEmb.reshape('c', b, (long) t * h).sum(0).reshape(t, h));
        grads.put(POS_EMB, dPos);
        if (dEmb.closeable()) {
            dEmb.close(); // consumed (a fresh array from SameDiff, or a copy)
        }
        return grads;
    }

    /** 1 for real tokens, 0 for [PAD] (id 0): attention never reads padding. */
    private static INDArray paddingMask(int[] ids, int b, int t) {
        return Nd4j.createFromArray(ids).reshape(b, t).neq(WordPiece.PAD_ID).castTo(DataType.FLOAT);
    }

    private void useMode(Mode m) {
        if (mode == m) {
            return;
        }
        // Switching the loss rebuilds the gradient function (a few ms); a training loop keeps one mode.
        switch (m) {
            case LOCAL -> {
                sd.setLossVariables(LOCAL_OBJECTIVE);
                sd.createGradFunction(EMBEDDED);
            }
            case NETWORK -> {
                sd.setLossVariables(TOTAL_OBJECTIVE);
                sd.createGradFunction(EMBEDDED, NETWORK);
            }
            case SERVED -> {
                sd.setLossVariables(SERVED_LOSS);
                sd.createGradFunction(EMBEDDED);
            }
        }
        mode = m;
    }

    // ---------------------------------------------------------------- parameters and checkpoints

    private INDArray param(String name) {
        return switch (name) {
            case TOK_EMB -> tokens;
            case VOCAB_B -> vocabBias;
            case POS_EMB -> positions;
            default -> sd.getArrForVarName(name);
        };
    }

    /** Trainable parameters' names, in a fixed order. */
    public List<String> parameterNames() {
        return parameterNames;
    }

    /** Copies of the current parameter values. */
    @Override
    public synchronized Map<String, INDArray> parameters() {
        Map<String, INDArray> out = new LinkedHashMap<>();
        for (String name : parameterNames) {
            out.put(name, param(name).dup());
        }
        return out;
    }

    /**
     * Overwrites the parameters (from a checkpoint or another model).
     *
     * @throws IllegalArgumentException naming the first missing or mis-shaped parameter
     */
    @Override
    public synchronized void setParameters(Map<String, INDArray> values) {
        for (String name : parameterNames) {
            INDArray v = values.get(name);
            if (v == null) {
                throw new IllegalArgumentException("parameter " + name + " is missing");
            }
            if (!Arrays.equals(v.shape(), param(name).shape())) {
                throw new IllegalArgumentException("parameter " + name + " has shape " + Arrays.toString(v.shape())
                        + ", expected " + Arrays.toString(param(name).shape()));
            }
        }
        for (String name : parameterNames) {
            param(name).assign(values.get(name).castTo(DataType.FLOAT));
        }
    }

    @Override
    public String modelId() {
        return MODEL_ID;
    }

    /** The router learns over the encoder's width. */
    @Override
    public int contextDim() {
        return config.hidden();
    }

    /** Optimizer steps taken so far. */
    @Override
    public synchronized int iteration() {
        return updaters.iteration();
    }

    @Override
    public synchronized Map<String, INDArray> optimizerState() {
        return updaters.state();
    }

    @Override
    public synchronized void setOptimizerState(Map<String, INDArray> state, int iteration) {
        updaters.setState(state, iteration);
    }

    /** A fresh model of the same configuration with a copy of the current parameters (fresh optimizer). */
    @Override
    public synchronized BertModel copy() {
        BertModel m = new BertModel(config, 0, updaterConfig, padTargetWeight);
        m.setParameters(parameters());
        return m;
    }

    /** Frees the native memory of parameters and optimizer state now rather than at GC. */
    @Override
    public synchronized void close() {
        for (String name : parameterNames) {
            INDArray p = param(name);
            if (p != null && p.closeable()) {
                p.close();
            }
        }
        updaters.close();
        head.close();
        for (INDArray a : new INDArray[] {tokenGrad, vocabBiasGrad}) {
            if (a != null && a.closeable()) {
                a.close();
            }
        }
    }
}
