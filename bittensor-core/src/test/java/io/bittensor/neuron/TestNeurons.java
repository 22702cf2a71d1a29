package io.bittensor.neuron;

import io.bittensor.proto.Modality;
import io.bittensor.proto.Synapse;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.nd4j.autodiff.samediff.SDIndex;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Small neurons and helpers shared by the Axon and Dendrite tests. */
public final class TestNeurons {
    private TestNeurons() {
    }

    /** A synapse entry pointing at {@code host:port}. */
    public static Synapse synapse(String key, String host, int port) {
        return Synapse.newBuilder().setVersion("0.0.0").setSynapseKey(key).setAddress(host)
                .setPort(Integer.toString(port)).build();
    }

    /** TENSOR [b, s, 512]: y = c·x, so dx = c·G. Counts calls. */
    public static class Scale implements Neuron {
        final double c;
        public final AtomicInteger calls = new AtomicInteger();

        public Scale(double c) {
            this.c = c;
        }

        @Override
        public INDArray forwardTensor(INDArray x) {
            calls.incrementAndGet();
            return x.castTo(DataType.FLOAT).mul(c);
        }

        @Override
        public INDArray backward(Modality m, INDArray inputs, INDArray g) {
            calls.incrementAndGet();
            if (m != Modality.TENSOR) {
                throw new UnsupportedModalityException(m);
            }
            return g.castTo(inputs.dataType()).mul(c);
        }
    }

    /** Waits on {@code release} (at most 30 s) before answering like {@link Scale}(1). */
    public static final class Blocking extends Scale {
        public final CountDownLatch release = new CountDownLatch(1);

        public Blocking() {
            super(1);
        }

        @Override
        public INDArray forwardTensor(INDArray x) {
            try {
                release.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return super.forwardTensor(x);
        }
    }

    /** Replies NaN everywhere. */
    public static final class NaNs implements Neuron {
        @Override
        public INDArray forwardTensor(INDArray x) {
            long[] s = x.shape();
            return Nd4j.valueArrayOf(new long[] {s[0], s[1], NETWORK_DIM}, Float.NaN, DataType.FLOAT);
        }
    }

    /** Throws from every call (a broken model). */
    public static final class Broken implements Neuron {
        public final AtomicInteger calls = new AtomicInteger();
        public volatile boolean healed;

        @Override
        public INDArray forwardTensor(INDArray x) {
            calls.incrementAndGet();
            if (healed) {
                return x.castTo(DataType.FLOAT);
            }
            throw new IllegalStateException("model exploded");
        }
    }

    /** y = reshape(reshape(x, [-1, k]) · w, [batch, seq, 512]): a linear map of the trailing dims. */
    public static SDVariable linear(SameDiff sd, String name, SDVariable x, SDVariable w, long k) {
        SDVariable batchSeq = sd.shape(x).get(SDIndex.interval(0, 2));
        return sd.reshape(name, sd.mmul(sd.reshape(x, -1, k), w),
                sd.concat(0, batchSeq, sd.constant(Nd4j.createFromArray((long) Neuron.NETWORK_DIM))));
    }

    /** The same map with plain ND4J: x [b, s, ...] (k trailing elements) · w. */
    public static INDArray linear(INDArray x, INDArray w) {
        long[] s = x.shape();
        return x.reshape('c', s[0] * s[1], w.rows()).mmul(w).reshape('c', s[0], s[1], w.columns());
    }

    /** dx of {@link #linear(INDArray, INDArray)} for a gradient g on its output, of x's shape. */
    public static INDArray linearInputGrad(INDArray x, INDArray w, INDArray g) {
        long[] s = g.shape();
        return g.reshape('c', s[0] * s[1], s[2]).mmul(w.transpose()).reshape('c', x.shape());
    }

    /** Polls {@code condition} every 5 ms until it holds; fails after 20 s. */
    public static void await(java.util.function.BooleanSupplier condition) {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("condition not met within 20 s");
            }
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }
}
