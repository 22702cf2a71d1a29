package io.bittensor.examples.mnist;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ops.impl.scalar.RectifiedLinearDerivative;
import org.nd4j.linalg.factory.Broadcast;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * The MNIST model's arithmetic ({@link MnistModel}'s diagram), forward and backward, written out
 * over libnd4j's fused ops (conv2d / conv2d_bp, maxpool2d / maxpool2d_bp, relu / its derivative,
 * gemm, log_softmax) with every training buffer kept from one step to the next.
 *
 * <p>Why not SameDiff: at this model's size a SameDiff step was mostly per-op bookkeeping in Java
 * (name lookups, the inference session's dependency tracking) rather than arithmetic, and the
 * served Backward paid it again; see docs/mnist.md for the figures.
 *
 * <p>Two kinds of use. The static {@code infer…} methods allocate their own arrays and only read
 * the parameters, so many threads may call them at once. The training and served-Backward passes
 * reuse this engine's buffers and are for one thread at a time (the owning model serializes them);
 * their gradients stay valid until the next pass.
 */
final class MnistEngine implements AutoCloseable {
    // MNIST pixel mean and standard deviation, as the original's Normalize((0.1307,), (0.3081,)).
    static final double MEAN = 0.1307;
    static final double STD = 0.3081;

    // libnd4j integer arguments: kernel, stride, padding, dilation, same-mode, NCHW, weights [kH,kW,iC,oC].
    private static final int[] CONV = {5, 5, 1, 1, 0, 0, 1, 1, 0, 0, 0};
    private static final int[] POOL = {2, 2, 2, 2, 0, 0, 1, 1, 0, 0, 0};
    // conv1's weight gradient as a convolution: a 24×24 kernel in [oC, iC, kH, kW] layout.
    private static final int[] CONV1_WEIGHT_GRAD = {24, 24, 1, 1, 0, 0, 1, 1, 0, 0, 1};
    // conv1's input gradient as a "full" convolution (padding 4) of dc1 with the flipped kernel.
    private static final int[] CONV1_INPUT_GRAD = {5, 5, 1, 1, 4, 4, 1, 1, 0, 0, 0};

    private static final int T = MnistModel.TRANSFORM_DIM;
    private static final int N = MnistModel.NETWORK_DIM;

    /** The losses of one training pass (total = local + remote + distill; NaN parts were not computed). */
    record Losses(double total, double local, double remote, double distill) {
    }

    private final Map<String, INDArray> params;
    private final Map<String, INDArray> grads = new LinkedHashMap<>();
    private final List<INDArray> owned = new ArrayList<>();
    // Views made once: every ND4J array, a view included, costs a native shape buffer that ND4J's
    // deallocator thread frees only after a GC (~13 µs each here, and a GC survival).
    private final INDArray w1Transform;
    private final INDArray w1Context;
    private final INDArray dW1Transform;
    private final INDArray dW1Context;
    private final Map<String, INDArray> biasRows = new LinkedHashMap<>();
    private final Map<String, INDArray> biasGradRows = new LinkedHashMap<>();
    private Buffers buf;

    /** @param params the model's live parameter arrays by name (updated in place by its optimizer) */
    MnistEngine(Map<String, INDArray> params) {
        this.params = params;
        for (String name : params.keySet()) {
            grads.put(name, own(params.get(name).ulike()));
        }
        w1Transform = rows(params.get("hidden1_w"), 0, T);
        w1Context = rows(params.get("hidden1_w"), T, T + N);
        dW1Transform = rows(grads.get("hidden1_w"), 0, T);
        dW1Context = rows(grads.get("hidden1_w"), T, T + N);
        for (String layer : new String[] {"student1", "student2", "hidden1", "hidden2"}) {
            String b = layer + "_b";
            biasRows.put(b, params.get(b).reshape(1, params.get(b).length()));
            biasGradRows.put(b, grads.get(b).reshape(1, grads.get(b).length()));
        }
    }

    /** Gradients of the last pass by parameter name (buffers that the next pass overwrites). */
    Map<String, INDArray> gradients() {
        return grads;
    }

    // ---------------------------------------------------------------- inference (fresh arrays, any thread)

    /** The transform {@code [b,320]} of images {@code [b,1,28,28]}, without dropout (scratch allocated and freed here). */
    static INDArray inferTransform(Map<String, INDArray> p, INDArray images) {
        try (ScratchPool once = new ScratchPool(0)) {
            return inferTransform(p, images, once);
        }
    }

    /**
     * The transform {@code [b,320]} of images {@code [b,1,28,28]}, without dropout, with the conv
     * stack's intermediates borrowed from {@code pool}. The result is a new array the caller owns.
     */
    static INDArray inferTransform(Map<String, INDArray> p, INDArray images, ScratchPool pool) {
        long b = images.size(0);
        ConvScratch s = pool.take(b);
        try {
            INDArray transform = Nd4j.create(DataType.FLOAT, b, T); // returned whole, so the caller may close it
            normalize(images, s.x);
            convPoolRelu(s.x, p.get("conv1_w"), p.get("conv1_b"), s.c1, s.h1);
            convPoolRelu(s.h1, p.get("conv2_w"), p.get("conv2_b"), s.c2,
                    transform.reshape('c', b, MnistModel.CONV2_CHANNELS, 4, 4));
            return transform;
        } finally {
            pool.give(s);
        }
    }

    /** The student's prediction of the network {@code [b,512]} from a transform. */
    static INDArray inferStudent(Map<String, INDArray> p, INDArray transform) {
        long b = transform.size(0);
        INDArray s1 = Nd4j.create(DataType.FLOAT, b, MnistModel.STUDENT_HIDDEN);
        INDArray s2 = Nd4j.create(DataType.FLOAT, b, N);
        dense(transform, p.get("student1_w"), p.get("student1_b"), s1);
        relu(s1);
        dense(s1, p.get("student2_w"), p.get("student2_b"), s2);
        relu(s2);
        s1.close();
        return s2;
    }

    /** Class logits {@code [b,10]} of the hidden net on (transform ⊕ context). */
    static INDArray inferLogits(Map<String, INDArray> p, INDArray transform, INDArray context) {
        long b = transform.size(0);
        INDArray z = Nd4j.create(DataType.FLOAT, b, MnistModel.HIDDEN);
        INDArray logits = Nd4j.create(DataType.FLOAT, b, MnistModel.CLASSES);
        hidden(p, transform, context, z, logits);
        z.close();
        return logits;
    }

    /** Mean softmax cross-entropy of logits against one-hot labels. */
    static double crossEntropy(INDArray logits, INDArray oneHot) {
        try (INDArray logp = logits.ulike()) {
            logSoftmax(logits, logp);
            return -oneHot.castTo(DataType.FLOAT).mul(logp).sumNumber().doubleValue() / logits.size(0);
        }
    }

    // ---------------------------------------------------------------- training (reused buffers, one thread)

    /**
     * A step alone: the local head's loss (the student runs as the head's stopped context) and its
     * gradients for every parameter but the student's.
     *
     * @param mask conv2 channel dropout {@code [b,20]} (scaled keep values), or null for none
     */
    Losses trainLocal(INDArray images, INDArray labels, INDArray mask) {
        Buffers f = forwardTrain(images, mask, true);
        f.labels.assign(labels);
        double local = headLoss(f.local, f);
        headBackward(f.local, f.transform, f.student, false);
        convBackward(mask, false);
        return new Losses(local, local, Double.NaN, Double.NaN);
    }

    /**
     * A step with the network's answer: local + remote + distillation loss, gradients for every
     * parameter, and d loss / d network in {@link #networkGradient()}.
     */
    Losses trainNetwork(INDArray images, INDArray labels, INDArray mask, INDArray network) {
        Buffers f = forwardTrain(images, mask, true);
        f.network.assign(network);
        f.labels.assign(labels);
        double local = headLoss(f.local, f);
        hiddenTrain(f.transform, f.network, f.remote);
        double remote = headLoss(f.remote, f);
        long elements = f.student.length();
        f.student.sub(f.network, f.ds2);
        double distill = Nd4j.getBlasWrapper().dot(f.ds2Flat, f.ds2Flat) / elements;

        headBackward(f.local, f.transform, f.student, false);
        headBackward(f.remote, f.transform, f.network, true);
        // MSE(student, stop(network)): d/d student = 2 (student - network) / elements.
        f.ds2.muli(2.0 / elements);
        Nd4j.exec(new RectifiedLinearDerivative(f.student, f.ds2, f.ds2));
        denseBackward(f.s1, "student2", f.ds2, f.ds1);
        Nd4j.exec(new RectifiedLinearDerivative(f.s1, f.ds1, f.ds1));
        denseBackward(f.transform, "student1", f.ds1, null);
        convBackward(mask, false);
        return new Losses(local + remote + distill, local, remote, distill);
    }

    /** d loss / d network of the last {@link #trainNetwork} ({@code [b,512]}, a buffer the next pass overwrites). */
    INDArray networkGradient() {
        return buf.dNetwork;
    }

    /** Local-head logits of the last training pass (a reused buffer). */
    INDArray localLogits() {
        return buf.local.logits;
    }

    /** Remote-head logits of the last {@link #trainNetwork} (a reused buffer). */
    INDArray remoteLogits() {
        return buf.remote.logits;
    }

    /**
     * A peer's Backward: the gradient of {@code sum(gradTransform ⊙ transform(images))} (no dropout)
     * for the images and, in {@link #gradients()}, for the conv parameters.
     *
     * @return d / d images {@code [b,1,28,28]} (a buffer the next pass overwrites)
     */
    INDArray servedBackward(INDArray images, INDArray gradTransform) {
        Buffers f = forwardTrain(images, null, false);
        f.dTransform.assign(gradTransform);
        convBackward(null, true);
        // x = (images - mean) / std, so d/d images = d/d x / std.
        return f.dx.divi(STD);
    }

    @Override
    public void close() {
        owned.forEach(a -> {
            if (a.closeable()) {
                a.close();
            }
        });
        owned.clear();
        if (buf != null) {
            buf.close();
            buf = null;
        }
    }

    /** The training forward pass into the reused buffers; the student and local head only when {@code heads}. */
    private Buffers forwardTrain(INDArray images, INDArray mask, boolean heads) {
        long b = images.size(0);
        if (buf == null || buf.batch != b) {
            if (buf != null) {
                buf.close();
            }
            buf = new Buffers(b);
        }
        Buffers f = buf;
        normalize(images, f.x);
        convPoolRelu(f.x, params.get("conv1_w"), params.get("conv1_b"), f.c1, f.h1);
        conv(f.h1, params.get("conv2_w"), params.get("conv2_b"), f.c2);
        INDArray pooledInput = f.c2;
        if (mask != null) {
            Broadcast.mul(f.c2, mask, f.m2, 0, 1);
            pooledInput = f.m2;
        }
        maxPoolRelu(pooledInput, f.h2);
        if (!heads) {
            return f;
        }
        denseTrain(f.transform, "student1", f.s1);
        relu(f.s1);
        denseTrain(f.s1, "student2", f.student);
        relu(f.student);
        hiddenTrain(f.transform, f.student, f.local);
        return f;
    }

    /** {@code out = x·W + b} into reused buffers: the bias broadcast as ones·b, a gemm, not addiRowVector. */
    private void denseTrain(INDArray x, String layer, INDArray out) {
        gemm(buf.ones, biasRows.get(layer + "_b"), out, false, false, 0);
        gemm(x, params.get(layer + "_w"), out, false, false, 1);
    }

    /** {@link #hidden} for training, through the views made once. */
    private void hiddenTrain(INDArray transform, INDArray context, Head h) {
        gemm(buf.ones, biasRows.get("hidden1_b"), h.z, false, false, 0);
        gemm(transform, w1Transform, h.z, false, false, 1);
        gemm(context, w1Context, h.z, false, false, 1);
        relu(h.z);
        denseTrain(h.z, "hidden2", h.logits);
    }

    /** Loss of a head's logits; leaves d loss / d logits = (softmax − onehot) / b in the head's buffer. */
    private static double headLoss(Head h, Buffers f) {
        logSoftmax(h.logits, h.dLogits);
        double loss = -Nd4j.getBlasWrapper().dot(h.dLogitsFlat, f.labelsFlat) / f.batch;
        Transforms.exp(h.dLogits, false).subi(f.labels).divi(f.batch);
        return loss;
    }

    /**
     * Back through one head into the hidden net's gradients, d transform and, for the remote head,
     * d network. The local head runs first: it sets the hidden net's gradients and d transform,
     * the remote head adds to them. Column sums (bias gradients) are gemms with a ones column.
     */
    private void headBackward(Head h, INDArray transform, INDArray context, boolean remote) {
        double beta = remote ? 1 : 0;
        gemm(h.z, h.dLogits, grads.get("hidden2_w"), true, false, beta);
        gemm(buf.ones, h.dLogits, biasGradRows.get("hidden2_b"), true, false, beta);
        gemm(h.dLogits, params.get("hidden2_w"), h.dz, false, true, 0);
        Nd4j.exec(new RectifiedLinearDerivative(h.z, h.dz, h.dz));
        gemm(transform, h.dz, dW1Transform, true, false, beta);
        gemm(context, h.dz, dW1Context, true, false, beta);
        gemm(buf.ones, h.dz, biasGradRows.get("hidden1_b"), true, false, beta);
        gemm(h.dz, w1Transform, buf.dTransform, false, true, beta);
        if (remote) {
            gemm(h.dz, w1Context, buf.dNetwork, false, true, 0);
        }
    }

    /** Weight and bias gradients of {@code y = x·W + b} given dy; d x into dx when it is not null. */
    private void denseBackward(INDArray x, String name, INDArray dy, INDArray dx) {
        gemm(x, dy, grads.get(name + "_w"), true, false, 0);
        gemm(buf.ones, dy, biasGradRows.get(name + "_b"), true, false, 0);
        if (dx != null) {
            gemm(dy, params.get(name + "_w"), dx, false, true, 0);
        }
    }

    /** Back through the conv stack from d transform; d images in {@code buf.dx} when asked. */
    private void convBackward(INDArray mask, boolean wantInputs) {
        Buffers f = buf;
        INDArray dh2 = f.dh2; // d transform, as the conv stack's [b, 20, 4, 4]
        Nd4j.exec(new RectifiedLinearDerivative(f.h2, dh2, dh2));
        INDArray pooledInput = mask == null ? f.c2 : f.m2;
        exec(DynamicCustomOp.builder("maxpool2d_bp").addInputs(pooledInput, dh2).addOutputs(f.dc2).addIntegerArguments(POOL));
        if (mask != null) {
            Broadcast.mul(f.dc2, mask, f.dc2, 0, 1);
        }
        exec(DynamicCustomOp.builder("conv2d_bp").addInputs(f.h1, params.get("conv2_w"), params.get("conv2_b"), f.dc2)
                .addOutputs(f.dh1, grads.get("conv2_w"), grads.get("conv2_b")).addIntegerArguments(CONV));
        Nd4j.exec(new RectifiedLinearDerivative(f.h1, f.dh1, f.dh1));
        exec(DynamicCustomOp.builder("maxpool2d_bp").addInputs(f.c1, f.dh1).addOutputs(f.dc1).addIntegerArguments(POOL));
        conv1WeightGradients(f);
        if (wantInputs) {
            conv1InputGradient(f);
        }
    }

    /**
     * d loss / d x of conv1 into {@code f.dx}: dc1 convolved ("full", padding 4) with the kernel
     * turned 180°. With one input channel, W as [kH,kW,1,10] has the memory layout of a
     * [kH,kW,10,1] kernel from dc1's 10 channels to one.
     */
    private void conv1InputGradient(Buffers f) {
        exec(DynamicCustomOp.builder("reverse").addInputs(params.get("conv1_w")).addOutputs(f.w1Flipped)
                .addIntegerArguments(0, 1));
        exec(DynamicCustomOp.builder("conv2d").addInputs(f.dc1, f.w1FlippedKernel).addOutputs(f.dx)
                .addIntegerArguments(CONV1_INPUT_GRAD));
    }

    /**
     * conv1's weight and bias gradients without d images, as one small convolution: with one input
     * channel, dW[ky,kx,0,o] = Σ_b Σ_ij x[b,0,i+ky,j+kx] · dc1[b,o,i,j] is the images (the batch
     * as channels) correlated with dc1 as a 24×24 kernel. conv2d_bp took 3–40 ms here (it also
     * computes d images, through large temporary arrays); this takes ~1 ms.
     */
    private void conv1WeightGradients(Buffers f) {
        f.dc1Kernel.assign(f.dc1AsKernel); // [10, b, 24, 24]: libnd4j's [oC, iC, kH, kW] layout
        exec(DynamicCustomOp.builder("conv2d").addInputs(f.xAsChannels, f.dc1Kernel).addOutputs(f.dW1)
                .addIntegerArguments(CONV1_WEIGHT_GRAD));
        grads.get("conv1_w").assign(f.dW1AsWeights);
        gemm(f.dc1KernelRows, f.pixelOnes, f.db1, false, false, 0);
        grads.get("conv1_b").assign(f.db1Flat);
    }

    // ---------------------------------------------------------------- shared pieces

    private static INDArray normalize(INDArray images, INDArray out) {
        return images.castTo(DataType.FLOAT).sub(MEAN, out).divi(STD);
    }

    private static void conv(INDArray x, INDArray w, INDArray b, INDArray out) {
        exec(DynamicCustomOp.builder("conv2d").addInputs(x, w, b).addOutputs(out).addIntegerArguments(CONV));
    }

    private static void convPoolRelu(INDArray x, INDArray w, INDArray b, INDArray conv, INDArray out) {
        conv(x, w, b, conv);
        maxPoolRelu(conv, out);
    }

    private static void maxPoolRelu(INDArray x, INDArray out) {
        exec(DynamicCustomOp.builder("maxpool2d").addInputs(x).addOutputs(out).addIntegerArguments(POOL));
        relu(out);
    }

    /** The hidden net on (transform ⊕ context), without building the concatenation: z is kept post-ReLU. */
    private static void hidden(Map<String, INDArray> p, INDArray transform, INDArray context, INDArray z, INDArray logits) {
        INDArray w1 = p.get("hidden1_w");
        gemm(transform, rows(w1, 0, T), z, false, false, 0);
        gemm(context, rows(w1, T, T + N), z, false, false, 1);
        z.addiRowVector(p.get("hidden1_b"));
        relu(z);
        dense(z, p.get("hidden2_w"), p.get("hidden2_b"), logits);
    }

    private static void dense(INDArray x, INDArray w, INDArray b, INDArray out) {
        gemm(x, w, out, false, false, 0);
        out.addiRowVector(b);
    }

    private static void relu(INDArray a) {
        exec(DynamicCustomOp.builder("relu").addInputs(a).addOutputs(a).addFloatingPointArguments(0.0));
    }

    private static void logSoftmax(INDArray logits, INDArray out) {
        exec(DynamicCustomOp.builder("log_softmax").addInputs(logits).addOutputs(out).addIntegerArguments(1));
    }

    /** c = a·b (operands optionally transposed) + beta·c. */
    private static void gemm(INDArray a, INDArray b, INDArray c, boolean ta, boolean tb, double beta) {
        Nd4j.gemm(a, b, c, ta, tb, 1.0, beta);
    }

    /** Rows [from, to) of a c-ordered matrix: a contiguous view. */
    private static INDArray rows(INDArray m, long from, long to) {
        return m.get(NDArrayIndex.interval(from, to), NDArrayIndex.all());
    }

    private static void exec(DynamicCustomOp.DynamicCustomOpsBuilder op) {
        Nd4j.exec(op.build());
    }

    private INDArray own(INDArray a) {
        owned.add(a);
        return a;
    }

    /**
     * A few sets of the conv stack's inference intermediates (~2.4 MB at batch 64), reused across
     * calls and threads: a fresh multi-megabyte native array costs milliseconds of page faults on
     * a virtual machine (measured: 3–6 ms for 1.5 MB here), more than the convolution itself.
     * Bounded: at most {@code capacity} idle sets are kept (the oldest is freed first); a set is
     * used by one call at a time. Closing frees the idle sets, and sets given back afterwards.
     */
    static final class ScratchPool implements AutoCloseable {
        private final int capacity;
        private final ArrayDeque<ConvScratch> idle = new ArrayDeque<>();
        private boolean closed;

        ScratchPool(int capacity) {
            this.capacity = capacity;
        }

        synchronized ConvScratch take(long batch) {
            for (Iterator<ConvScratch> it = idle.iterator(); it.hasNext(); ) {
                ConvScratch s = it.next();
                if (s.batch == batch) {
                    it.remove();
                    return s;
                }
            }
            return new ConvScratch(batch);
        }

        synchronized void give(ConvScratch s) {
            if (closed || capacity == 0) {
                s.close();
                return;
            }
            if (idle.size() == capacity) {
                idle.removeFirst().close();
            }
            idle.addLast(s);
        }

        /** Idle sets held now (for tests). */
        synchronized int idle() {
            return idle.size();
        }

        @Override
        public synchronized void close() {
            closed = true;
            idle.forEach(ConvScratch::close);
            idle.clear();
        }
    }

    /** The conv stack's intermediates for one inference batch. */
    static final class ConvScratch {
        final long batch;
        final INDArray x;
        final INDArray c1;
        final INDArray h1;
        final INDArray c2;

        ConvScratch(long b) {
            batch = b;
            x = Nd4j.create(DataType.FLOAT, b, 1, MnistSplit.ROWS, MnistSplit.COLS);
            c1 = Nd4j.create(DataType.FLOAT, b, 10, 24, 24);
            h1 = Nd4j.create(DataType.FLOAT, b, 10, 12, 12);
            c2 = Nd4j.create(DataType.FLOAT, b, MnistModel.CONV2_CHANNELS, 8, 8);
        }

        void close() {
            for (INDArray a : new INDArray[] {x, c1, h1, c2}) {
                a.close();
            }
        }
    }

    /** One head's activations and gradients for a batch. */
    private static final class Head {
        /** The hidden layer, after its ReLU (applied in place). */
        final INDArray z;
        final INDArray logits;
        final INDArray dLogits;
        final INDArray dLogitsFlat;
        final INDArray dz;

        Head(long b) {
            z = Nd4j.create(DataType.FLOAT, b, MnistModel.HIDDEN);
            logits = Nd4j.create(DataType.FLOAT, b, MnistModel.CLASSES);
            dLogits = logits.ulike();
            dLogitsFlat = dLogits.reshape(new long[] {b * MnistModel.CLASSES});
            dz = z.ulike();
        }

        void close() {
            for (INDArray x : new INDArray[] {z, logits, dLogits, dz}) {
                x.close();
            }
        }
    }

    /** Every activation and gradient buffer of a training pass, for one batch size. */
    private static final class Buffers {
        final long batch;
        final INDArray x;
        final INDArray c1;
        final INDArray h1;
        final INDArray c2;
        final INDArray m2;
        final INDArray h2;
        final INDArray transform;
        final INDArray s1;
        final INDArray student;
        final INDArray network;
        final Head local;
        final Head remote;
        final INDArray ds1;
        final INDArray ds2;
        final INDArray dTransform;
        final INDArray dNetwork;
        final INDArray dc2;
        final INDArray dh1;
        final INDArray dc1;
        final INDArray dx;
        final INDArray dc1Kernel;
        final INDArray dW1;
        final INDArray db1;
        final INDArray pixelOnes;
        final INDArray w1Flipped;
        final INDArray ones;
        final INDArray labels;
        // Views of the buffers above, made once (see the engine's fields).
        final INDArray labelsFlat;
        final INDArray ds2Flat;
        final INDArray dh2;
        final INDArray xAsChannels;
        final INDArray dc1AsKernel;
        final INDArray dc1KernelRows;
        final INDArray dW1AsWeights;
        final INDArray db1Flat;
        final INDArray w1FlippedKernel;
        private final List<INDArray> all = new ArrayList<>();

        Buffers(long b) {
            batch = b;
            x = make(b, 1, MnistSplit.ROWS, MnistSplit.COLS);
            c1 = make(b, 10, 24, 24);
            h1 = make(b, 10, 12, 12);
            c2 = make(b, MnistModel.CONV2_CHANNELS, 8, 8);
            m2 = make(b, MnistModel.CONV2_CHANNELS, 8, 8);
            h2 = make(b, MnistModel.CONV2_CHANNELS, 4, 4);
            transform = h2.reshape('c', b, T);
            s1 = make(b, MnistModel.STUDENT_HIDDEN);
            student = make(b, N);
            network = make(b, N);
            local = new Head(b);
            remote = new Head(b);
            ds1 = make(b, MnistModel.STUDENT_HIDDEN);
            ds2 = make(b, N);
            dTransform = make(b, T);
            dNetwork = make(b, N);
            dc2 = make(b, MnistModel.CONV2_CHANNELS, 8, 8);
            dh1 = make(b, 10, 12, 12);
            dc1 = make(b, 10, 24, 24);
            dx = make(b, 1, MnistSplit.ROWS, MnistSplit.COLS);
            dc1Kernel = make(10, b, 24, 24);
            dW1 = make(1, 10, 5, 5);
            db1 = make(10, 1);
            pixelOnes = make(b * 24 * 24, 1).assign(1);
            w1Flipped = make(5, 5, 1, 10);
            ones = make(b, 1).assign(1);
            labels = make(b, MnistModel.CLASSES);
            labelsFlat = labels.reshape(new long[] {b * MnistModel.CLASSES});
            ds2Flat = ds2.reshape(new long[] {b * N});
            dh2 = dTransform.reshape('c', h2.shape());
            xAsChannels = x.reshape('c', 1, b, MnistSplit.ROWS, MnistSplit.COLS);
            dc1AsKernel = dc1.permute(1, 0, 2, 3);
            dc1KernelRows = dc1Kernel.reshape('c', 10, b * 24 * 24);
            dW1AsWeights = dW1.reshape('c', 10, 5, 5, 1).permute(1, 2, 3, 0);
            db1Flat = db1.reshape(new long[] {10});
            w1FlippedKernel = w1Flipped.reshape('c', 5, 5, 10, 1);
        }

        private INDArray make(long... shape) {
            INDArray a = Nd4j.create(DataType.FLOAT, shape);
            all.add(a);
            return a;
        }

        void close() {
            all.forEach(INDArray::close);
            local.close();
            remote.close();
        }
    }
}
