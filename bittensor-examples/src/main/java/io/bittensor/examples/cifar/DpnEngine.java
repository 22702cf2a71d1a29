package io.bittensor.examples.cifar;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ops.impl.scalar.RectifiedLinear;
import org.nd4j.linalg.api.ops.impl.scalar.RectifiedLinearDerivative;
import org.nd4j.linalg.factory.Broadcast;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * The DPN transform's training pass (batch statistics) written out over libnd4j's fused ops —
 * conv2d / conv2d_bp, moments and batchnorm (its backward as reductions and batchnorm passes),
 * relu / relu_bp, avgpool2d / avgpool2d_bp — with every activation and gradient buffer kept from
 * one step to the next.
 *
 * <p>Why not SameDiff's own gradient: in M2.1 a SameDiff training step spent most of its time
 * outside the ops (session bookkeeping per op, and a fresh native buffer for every activation and
 * gradient, each zero-filled and later freed by the garbage collector), and its batch norm has no
 * gradient, so it ran as ~10 primitive ops a layer. See docs/cifar.md for the figures.
 *
 * <p>Computes exactly what {@link DpnGraph#transform} computes in training mode (the gradient
 * test compares the two). Parameters are read from the same arrays the model's SameDiff graph
 * holds, so evaluation and serving see every update. Not thread-safe: the model's training
 * thread owns it.
 */
final class DpnEngine implements AutoCloseable {
    private final DataType type;
    private final Map<String, INDArray> params;
    private final Map<String, INDArray> grads = new LinkedHashMap<>();
    private final List<Norm> norms = new ArrayList<>();
    private final INDArray pixelMean;
    private final INDArray pixelStd;
    private final List<Layer> layers = new ArrayList<>();
    private final int transformDim;
    private final int poolSide;
    private final List<INDArray> owned = new ArrayList<>();

    private INDArray normalized;
    private INDArray pooled;
    private INDArray lastOut;
    private INDArray dLastOut;
    private long batch = -1;

    /**
     * @param params the model's parameter arrays by {@link DpnGraph} name (updated in place by the
     *               optimizer; read at every step)
     */
    DpnEngine(DpnConfig c, Map<String, INDArray> params, DataType type) {
        this.type = type;
        this.params = params;
        this.transformDim = c.transformDim();
        this.poolSide = c.finalSize();
        pixelMean = own(Nd4j.create(CifarImages.MEAN).castTo(type));
        pixelStd = own(Nd4j.create(CifarImages.STD).castTo(type));
        layers.add(new Conv("stem_conv", CifarImages.CHANNELS, c.stem(), 3, 1, 1));
        layers.add(new Norm("stem_bn", c.stem(), true));
        int last = c.stem();
        for (int s = 0; s < c.stages(); s++) {
            for (int b = 0; b < c.blocks()[s]; b++) {
                layers.add(new Block("s" + s + "b" + b + "_", last, c.in()[s], c.out()[s], c.dense()[s],
                        b == 0 ? c.strides()[s] : 1, b == 0, c.groups()));
                last = c.out()[s] + (b + 2) * c.dense()[s];
            }
        }
    }

    /** Parameter gradients of the last {@link #backward}, by name (buffers reused by the next step). */
    Map<String, INDArray> gradients() {
        return grads;
    }

    /** Batch-norm layers' names with their last batch mean and (biased) variance. */
    Map<String, INDArray[]> batchStatistics() {
        Map<String, INDArray[]> out = new LinkedHashMap<>();
        for (Norm n : norms) {
            out.put(n.name, new INDArray[] {n.mean, n.var});
        }
        return out;
    }

    /** The transform {@code [b, T]} of images {@code [b,3,32,32]} in [0,1], batch statistics (a reused buffer). */
    INDArray forward(INDArray images) {
        long b = images.size(0);
        if (b != batch) {
            batch = b;
            normalized = Nd4j.create(type, b, CifarImages.CHANNELS, CifarImages.SIZE, CifarImages.SIZE);
            pooled = Nd4j.create(type, b, transformDim / ((long) (poolSide / 4) * (poolSide / 4)), poolSide / 4,
                    poolSide / 4);
        }
        Broadcast.sub(images.castTo(type), pixelMean, normalized, 1);
        Broadcast.div(normalized, pixelStd, normalized, 1);
        INDArray h = normalized;
        for (Layer l : layers) {
            h = l.forward(h);
        }
        lastOut = h;
        exec(DynamicCustomOp.builder("avgpool2d").addInputs(h).addOutputs(pooled).addIntegerArguments(pool()));
        return pooled.reshape('c', b, transformDim);
    }

    /** Back-propagates d loss / d transform {@code [b, T]} through the last {@link #forward}. */
    void backward(INDArray dTransform) {
        INDArray d = dTransform.castTo(type).dup('c').reshape('c', pooled.shape());
        if (dLastOut == null || !java.util.Arrays.equals(dLastOut.shape(), lastOut.shape())) {
            dLastOut = lastOut.ulike();
        }
        INDArray dh = dLastOut;
        exec(DynamicCustomOp.builder("avgpool2d_bp").addInputs(lastOut, d).addOutputs(dh).addIntegerArguments(pool()));
        for (int i = layers.size() - 1; i >= 0; i--) {
            dh = layers.get(i).backward(dh);
        }
    }

    private int[] pool() {
        return new int[] {4, 4, 4, 4, 0, 0, 1, 1, 0, 0, 0};
    }

    @Override
    public void close() {
        owned.forEach(a -> {
            if (a.closeable()) {
                a.close();
            }
        });
    }

    private INDArray own(INDArray a) {
        owned.add(a);
        return a;
    }

    private static void exec(DynamicCustomOp.DynamicCustomOpsBuilder op) {
        Nd4j.exec(op.build());
    }

    /** A step of the network with buffers sized for the current batch. */
    private interface Layer {
        INDArray forward(INDArray x);

        /** d loss / d input, from d loss / d output; fills this layer's parameter gradients. */
        INDArray backward(INDArray dy);
    }

    /** Convolution without bias ("same" padding); grouped by a block-diagonal mask on the weights. */
    private final class Conv implements Layer {
        private final String name;
        private final int[] args;
        private final int out;
        private final int stride;
        private final INDArray mask;
        private INDArray x;
        private INDArray weights;
        private INDArray y;
        private INDArray dx;
        private final INDArray dw;

        Conv(String name, int in, int out, int k, int stride, int groups) {
            this.name = name + "_w";
            this.out = out;
            this.stride = stride;
            this.args = new int[] {k, k, stride, stride, k / 2, k / 2, 1, 1, 0, 0, 0};
            INDArray w = params.get(this.name);
            if (w == null) {
                throw new IllegalStateException("no parameter " + this.name);
            }
            this.mask = groups == 1 ? null : own(groupMask(k, in, out, groups));
            this.weights = mask == null ? w : own(w.ulike());
            this.dw = own(w.ulike());
            grads.put(this.name, dw);
        }

        @Override
        public INDArray forward(INDArray x) {
            this.x = x;
            long[] s = x.shape();
            if (y == null || y.size(0) != s[0]) {
                y = Nd4j.create(type, s[0], out, s[2] / stride, s[3] / stride);
                dx = x.ulike();
            }
            INDArray w = params.get(name);
            if (mask != null) {
                w.mul(mask, weights);
            }
            exec(DynamicCustomOp.builder("conv2d").addInputs(x, weights).addOutputs(y).addIntegerArguments(args));
            return y;
        }

        @Override
        public INDArray backward(INDArray dy) {
            exec(DynamicCustomOp.builder("conv2d_bp").addInputs(x, weights, dy).addOutputs(dx, dw).addIntegerArguments(args));
            if (mask != null) {
                dw.muli(mask);
            }
            return dx;
        }

        private INDArray groupMask(int k, int in, int out, int groups) {
            INDArray m = Nd4j.zeros(type, k, k, in, out);
            int inPer = in / groups;
            int outPer = out / groups;
            for (int g = 0; g < groups; g++) {
                m.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(g * inPer, (g + 1) * inPer),
                        NDArrayIndex.interval(g * outPer, (g + 1) * outPer)).assign(1);
            }
            return m;
        }
    }

    /** Training-mode batch norm over the channels (libnd4j's moments and batchnorm; the backward written out), optionally ReLU after. */
    private final class Norm implements Layer {
        private final String name;
        private final boolean relu;
        private final INDArray gamma;
        private final INDArray beta;
        private final INDArray mean;
        private final INDArray var;
        private final INDArray dGamma;
        private final INDArray dBeta;
        private final INDArray gMean;
        private final INDArray gxMean;
        private final INDArray unused;
        private final INDArray invStd;
        private final INDArray k;
        private final INDArray a;
        private final INDArray c;
        private final INDArray zero;
        private INDArray x;
        private INDArray y;
        private INDArray dx;
        private INDArray dPre;

        Norm(String name, int channels, boolean relu) {
            this.name = name;
            this.relu = relu;
            DpnGraph.Norm n = new DpnGraph.Norm(name, channels);
            gamma = params.get(n.gamma());
            beta = params.get(n.beta());
            if (gamma == null || beta == null) {
                throw new IllegalStateException("no parameters for " + name);
            }
            mean = own(Nd4j.create(type, channels));
            var = own(Nd4j.create(type, channels));
            dGamma = own(gamma.ulike());
            dBeta = own(beta.ulike());
            gMean = own(gamma.ulike());
            gxMean = own(gamma.ulike());
            unused = own(gamma.ulike());
            invStd = own(gamma.ulike());
            k = own(gamma.ulike());
            a = own(gamma.ulike());
            c = own(gamma.ulike());
            zero = own(Nd4j.zeros(type, channels));
            grads.put(n.gamma(), dGamma);
            grads.put(n.beta(), dBeta);
            norms.add(this);
        }

        @Override
        public INDArray forward(INDArray x) {
            this.x = x;
            if (y == null || y.size(0) != x.size(0) || !java.util.Arrays.equals(y.shape(), x.shape())) {
                y = x.ulike();
                dx = x.ulike();
                dPre = relu ? x.ulike() : null;
            }
            // One fused pass for both statistics: x.var(0,2,3) alone cost 5-7x this (the same values).
            exec(DynamicCustomOp.builder("moments").addInputs(x).addOutputs(mean, var).addIntegerArguments(0, 2, 3));
            affine(x, mean, gamma, beta, y);
            if (relu) {
                Nd4j.getExecutioner().exec(new RectifiedLinear(y, y));
            }
            return y;
        }

        @Override
        public INDArray backward(INDArray dy) {
            INDArray g = dy;
            if (relu) {
                Nd4j.exec(new RectifiedLinearDerivative(y, dy, dPre));
                g = dPre;
            }
            // Training-mode gradient, xhat = (x - mean) / sqrt(var + eps), N values per channel:
            //   dBeta = sum g, dGamma = sum g * xhat, dx = gamma / sqrt(var + eps) * (g - mean(g) - xhat * mean(g * xhat)).
            // Written as two per-channel reductions and two per-channel affine passes (libnd4j's batchnorm
            // forward, which is cheap): its batchnorm_bp cost 3-11x a batchnorm pass at these shapes.
            long n = x.length() / x.size(1);
            INDArray scratch = y; // this layer's output: every layer that read it has run its backward already
            moments(g, gMean);
            g.mul(x, scratch);
            moments(scratch, gxMean);
            var.add(DpnGraph.BN_EPSILON, invStd);
            Transforms.sqrt(invStd, false).rdivi(1.0);
            mean.mul(gMean, c);
            gxMean.subi(c); // mean(g * (x - mean)) = mean(g * xhat) * sqrt(var + eps)
            gxMean.mul(invStd, dGamma).muli(n);
            gMean.mul(n, dBeta);
            gamma.mul(invStd, k);
            k.mul(invStd, a).muli(gxMean).negi(); // -k * mean(g * xhat), the scale of xhat
            k.mul(gMean, c).negi();               // -k * mean(g)
            affine(x, mean, a, c, scratch);       // -k * (xhat * mean(g * xhat) + mean(g))
            affine(g, zero, gamma, zero, dx);     // k * g
            dx.addi(scratch);
            return dx;
        }

        /** Per-channel mean of {@code t} over batch and space (the variance is computed too, and dropped). */
        private void moments(INDArray t, INDArray outMean) {
            exec(DynamicCustomOp.builder("moments").addInputs(t).addOutputs(outMean, unused).addIntegerArguments(0, 2, 3));
        }

        /** {@code out = (t - m) / sqrt(var + eps) * scale + shift} per channel, in one pass. */
        private void affine(INDArray t, INDArray m, INDArray scale, INDArray shift, INDArray out) {
            exec(DynamicCustomOp.builder("batchnorm").addInputs(t, m, var, scale, shift).addOutputs(out)
                    .addIntegerArguments(1, 1, 1).addFloatingPointArguments(DpnGraph.BN_EPSILON));
        }
    }

    /** A dual-path block, as {@link DpnGraph}: residual part added, dense part concatenated, ReLU. */
    private final class Block implements Layer {
        private final int out;
        private final int scChannels;
        private final int outChannels;
        private final boolean first;
        private final List<Layer> main = new ArrayList<>();
        private final List<Layer> shortcut = new ArrayList<>();
        private INDArray y;
        private INDArray dJoined;
        private INDArray dMain;
        private INDArray dShort;

        Block(String p, int last, int in, int out, int dense, int stride, boolean first, int groups) {
            this.out = out;
            this.first = first;
            this.scChannels = first ? out + dense : last;
            this.outChannels = scChannels + dense;
            main.add(new Conv(p + "conv1", last, in, 1, 1, 1));
            main.add(new Norm(p + "bn1", in, true));
            main.add(new Conv(p + "conv2", in, in, 3, stride, groups));
            main.add(new Norm(p + "bn2", in, true));
            main.add(new Conv(p + "conv3", in, out + dense, 1, 1, 1));
            main.add(new Norm(p + "bn3", out + dense, false));
            if (first) {
                shortcut.add(new Conv(p + "sc_conv", last, out + dense, 1, stride, 1));
                shortcut.add(new Norm(p + "sc_bn", out + dense, false));
            }
        }

        @Override
        public INDArray forward(INDArray x) {
            INDArray h = x;
            for (Layer l : main) {
                h = l.forward(h);
            }
            INDArray sc = x;
            for (Layer l : shortcut) {
                sc = l.forward(sc);
            }
            long[] s = h.shape();
            if (y == null || y.size(0) != s[0]) {
                y = Nd4j.create(type, s[0], outChannels, s[2], s[3]);
                dJoined = y.ulike();
                dMain = h.ulike();
                dShort = first ? sc.ulike() : null;
            }
            sc.get(ch(0, out)).add(h.get(ch(0, out)), y.get(ch(0, out)));
            y.get(ch(out, scChannels)).assign(sc.get(ch(out, scChannels)));
            y.get(ch(scChannels, outChannels)).assign(h.get(ch(out, h.size(1))));
            Nd4j.getExecutioner().exec(new RectifiedLinear(y, y));
            return y;
        }

        @Override
        public INDArray backward(INDArray dy) {
            Nd4j.exec(new RectifiedLinearDerivative(y, dy, dJoined));
            dMain.get(ch(0, out)).assign(dJoined.get(ch(0, out)));
            dMain.get(ch(out, dMain.size(1))).assign(dJoined.get(ch(scChannels, outChannels)));
            INDArray dShortcut;
            if (first) {
                dShort.assign(dJoined.get(ch(0, scChannels)));
                dShortcut = dShort;
                for (int i = shortcut.size() - 1; i >= 0; i--) {
                    dShortcut = shortcut.get(i).backward(dShortcut);
                }
            } else {
                dShortcut = dJoined.get(ch(0, scChannels));
            }
            INDArray d = dMain;
            for (int i = main.size() - 1; i >= 0; i--) {
                d = main.get(i).backward(d);
            }
            return d.addi(dShortcut); // d is the first conv's own input-gradient buffer
        }
    }

    private static INDArrayIndex[] ch(long from, long to) {
        return new INDArrayIndex[] {NDArrayIndex.all(), NDArrayIndex.interval(from, to), NDArrayIndex.all(),
                NDArrayIndex.all()};
    }
}
