package io.bittensor.examples.cifar;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.nd4j.autodiff.samediff.SDIndex;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ops.impl.controlflow.compat.StopGradient;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Conv2DConfig;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Pooling2DConfig;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Builds the DPN's layers into a SameDiff graph, twice over shared weights: once in training
 * mode (batch statistics) and once in evaluation mode (running statistics, batch
 * norm as a per-channel affine map, whose gradient is exact for served Backward calls). SameDiff only
 * runs the ops an output needs, so the unused copy costs nothing.
 *
 * <p>Grouped 3×3 convolutions are one dense conv2d whose weights are multiplied by a constant
 * block-diagonal 0/1 mask (M2.1's conv2d has no groups; the mask beat split-conv-concat).
 */
final class DpnGraph {
    static final double BN_EPSILON = 1e-5;
    /** Weight of the newest batch in the running statistics, as PyTorch's momentum 0.1. */
    static final double BN_MOMENTUM = 0.1;

    /** One batch-norm layer: its names in the graph. */
    record Norm(String name, int channels) {
        String gamma() {
            return name + "_gamma";
        }

        String beta() {
            return name + "_beta";
        }

        String runningMean() {
            return name + "_rmean";
        }

        String runningVar() {
            return name + "_rvar";
        }

        String batchMean() {
            return name + "_bmean";
        }

        String batchVar() {
            return name + "_bvar";
        }
    }

    private final SameDiff sd;
    private final SplittableRandom rng;
    private final List<String> params = new ArrayList<>();
    private final List<Norm> norms = new ArrayList<>();
    private final Map<String, SDVariable> vars = new LinkedHashMap<>();
    private boolean training;

    private final DataType type;

    /** @param type FLOAT for the model; DOUBLE for gradient checks */
    DpnGraph(SameDiff sd, SplittableRandom rng, DataType type) {
        this.sd = sd;
        this.rng = rng;
        this.type = type;
    }

    /** Whether layers built next use batch statistics (training) or running statistics. */
    void training(boolean training) {
        this.training = training;
    }

    /** Trainable variables created so far, in creation order. */
    List<String> parameters() {
        return params;
    }

    /** Batch-norm layers (each once, though built in both modes). */
    List<Norm> norms() {
        return norms;
    }

    /**
     * The transform {@code [b, config.transformDim()]} of normalized images {@code [b,3,32,32]}.
     * The first call creates the weights; a later call (other mode) reuses them by name.
     */
    SDVariable transform(DpnConfig c, SDVariable x, boolean training) {
        this.training = training;
        SDVariable h = sd.nn.relu(norm("stem_bn", conv("stem_conv", x, CifarImages.CHANNELS, c.stem(), 3, 1, 1), c.stem()), 0);
        int last = c.stem();
        for (int s = 0; s < c.stages(); s++) {
            for (int b = 0; b < c.blocks()[s]; b++) {
                String p = "s" + s + "b" + b + "_";
                h = block(p, h, last, c.in()[s], c.out()[s], c.dense()[s], b == 0 ? c.strides()[s] : 1, b == 0, c.groups());
                last = c.out()[s] + (b + 2) * c.dense()[s];
            }
        }
        Pooling2DConfig pool = Pooling2DConfig.builder().kH(4).kW(4).sH(4).sW(4).isNHWC(false).build();
        h = sd.cnn.avgPooling2d(h, pool);
        return h.reshape(-1, c.transformDim());
    }

    /** A dual-path block: residual part added, dense part concatenated, ReLU. */
    private SDVariable block(String p, SDVariable x, int last, int in, int out, int dense, int stride, boolean first,
            int groups) {
        SDVariable h = sd.nn.relu(norm(p + "bn1", conv(p + "conv1", x, last, in, 1, 1, 1), in), 0);
        h = sd.nn.relu(norm(p + "bn2", groupedConv(p + "conv2", h, in, in, stride, groups), in), 0);
        h = norm(p + "bn3", conv(p + "conv3", h, in, out + dense, 1, 1, 1), out + dense);
        SDVariable shortcut = first ? norm(p + "sc_bn", conv(p + "sc_conv", x, last, out + dense, 1, stride, 1), out + dense) : x;
        long shortcutChannels = first ? out + dense : last;
        SDVariable joined = sd.concat(1,
                channels(shortcut, 0, out).add(channels(h, 0, out)),
                channels(shortcut, out, shortcutChannels),
                channels(h, out, out + dense));
        return sd.nn.relu(joined, 0);
    }

    private static SDVariable channels(SDVariable x, long from, long to) {
        return x.get(SDIndex.all(), SDIndex.interval(from, to), SDIndex.all(), SDIndex.all());
    }

    /** k×k convolution without bias, "same" padding for odd k. */
    private SDVariable conv(String name, SDVariable x, int in, int out, int k, int stride, int groups) {
        SDVariable w = weight(name + "_w", (k * k * in) / groups, k, k, in, out);
        return sd.cnn.conv2d(x, w, config(k, stride));
    }

    SDVariable groupedConv(String name, SDVariable x, int in, int out, int stride, int groups) {
        if (groups == 1) {
            return conv(name, x, in, out, 3, stride, 1);
        }
        SDVariable w = weight(name + "_w", 9 * in / groups, 3, 3, in, out);
        SDVariable mask = vars.computeIfAbsent(name + "_mask", n -> sd.constant(n, groupMask(3, in, out, groups)));
        return sd.cnn.conv2d(x, w.mul(mask), config(3, stride));
    }

    /** 1 where input channel i and output channel o fall in the same group; weights are [k,k,in,out]. */
    org.nd4j.linalg.api.ndarray.INDArray groupMask(int k, int in, int out, int groups) {
        float[] m = new float[k * k * in * out];
        int inPer = in / groups;
        int outPer = out / groups;
        for (int pos = 0; pos < k * k; pos++) {
            for (int i = 0; i < in; i++) {
                for (int o = 0; o < out; o++) {
                    m[(pos * in + i) * out + o] = i / inPer == o / outPer ? 1f : 0f;
                }
            }
        }
        return Nd4j.create(m, new long[] {k, k, in, out}, type);
    }

    private static Conv2DConfig config(int k, int stride) {
        int pad = k / 2;
        return Conv2DConfig.builder().kH(k).kW(k).sH(stride).sW(stride).pH(pad).pW(pad).dataFormat("NCHW").build();
    }

    /**
     * Batch norm over the channels of x, built from primitives (M2.1's fused batchNorm op has no
     * working gradient: see docs/cifar.md). Training: the batch's own mean and biased variance,
     * which are graph outputs (batchMean, batchVar) for the running averages, and through which the
     * gradient flows. Evaluation: the running statistics.
     */
    SDVariable norm(String name, SDVariable x, int channels) {
        Norm n = new Norm(name, channels);
        SDVariable gamma = vars.computeIfAbsent(n.gamma(), v -> param(v, Nd4j.ones(type, channels)));
        SDVariable beta = vars.computeIfAbsent(n.beta(), v -> param(v, Nd4j.zeros(type, channels)));
        SDVariable rMean = vars.computeIfAbsent(n.runningMean(), v -> sd.var(v, Nd4j.zeros(type, channels)));
        SDVariable rVar = vars.computeIfAbsent(n.runningVar(), v -> sd.var(v, Nd4j.ones(type, channels)));
        if (norms.stream().noneMatch(m -> m.name().equals(name))) {
            norms.add(n);
        }
        if (!training) {
            SDVariable scale = gamma.mul(sd.math.rsqrt(rVar.add(BN_EPSILON)));
            SDVariable shift = beta.sub(rMean.mul(scale));
            return x.mul(broadcast(x, scale, channels)).add(shift.reshape(1, channels, 1, 1));
        }
        SDVariable mean = x.mean(n.batchMean(), 0, 2, 3);
        SDVariable centered = x.sub(mean.reshape(1, channels, 1, 1));
        SDVariable var = centered.mul(centered).mean(n.batchVar(), 0, 2, 3);
        SDVariable scale = gamma.mul(sd.math.rsqrt(var.add(BN_EPSILON)));
        return centered.mul(broadcast(x, scale, channels)).add(beta.reshape(1, channels, 1, 1));
    }

    /**
     * A per-channel vector spread to x's full shape. M2.1's backward of a broadcasting multiply is
     * slow (it took a third of a training step); a broadcasting add's backward is a plain
     * reduction, and the multiply then works element by element.
     */
    private SDVariable broadcast(SDVariable x, SDVariable perChannel, int channels) {
        return sd.zerosLike(x).add(perChannel.reshape(1, channels, 1, 1));
    }

    /** Dense layer x·W + b (mmul and add: M2.1's fused xw_plus_b gets its weight gradient wrong). */
    SDVariable linear(String name, SDVariable x, int in, int out) {
        SDVariable w = vars.computeIfAbsent(name + "_w", v -> param(v, uniform(in, in, out)));
        SDVariable b = vars.computeIfAbsent(name + "_b", v -> param(v, uniform(in, out)));
        return x.mmul(w).add(b);
    }

    SDVariable stop(SDVariable v) {
        return new StopGradient(sd, v).outputVariable();
    }

    private SDVariable weight(String name, int fanIn, long... shape) {
        return vars.computeIfAbsent(name, v -> param(v, uniform(fanIn, shape)));
    }

    private SDVariable param(String name, org.nd4j.linalg.api.ndarray.INDArray init) {
        params.add(name);
        return sd.var(name, init);
    }

    /** U(±1/√fan_in), PyTorch's default for Conv2d and Linear. */
    private org.nd4j.linalg.api.ndarray.INDArray uniform(int fanIn, long... shape) {
        long n = Arrays.stream(shape).reduce(1, (a, b) -> a * b);
        float bound = (float) (1.0 / Math.sqrt(fanIn));
        float[] v = new float[Math.toIntExact(n)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) ((rng.nextDouble() * 2 - 1) * bound);
        }
        return Nd4j.create(v, shape, type);
    }
}
