package io.bittensor.examples.cifar;

import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.scalar.RectifiedLinear;
import org.nd4j.linalg.api.ops.impl.scalar.RectifiedLinearDerivative;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * The training step's heads over the transform, forward and backward by hand: the same layers and
 * losses as {@link DpnModel}'s graph (probe; local head with the student as stopped context;
 * local + remote + distillation with the network's answer). Small matrix products on {@code [b, ≤ T+512]}:
 * cheap next to the convolutions, so plain INDArray ops.
 */
final class DpnHeads {
    /** Loss, logits of the head that scores accuracy, and the gradients to pass on. */
    record Result(double loss, double localLoss, double remoteLoss, double distillLoss, INDArray logits,
            INDArray dTransform, INDArray dNetwork, Map<String, INDArray> grads) {}

    private final Map<String, INDArray> params;

    DpnHeads(Map<String, INDArray> params) {
        this.params = params;
    }

    /** One linear layer and softmax cross-entropy. */
    Result probe(INDArray t, INDArray labels) {
        Map<String, INDArray> g = new LinkedHashMap<>();
        INDArray logits = linear("probe", t);
        Loss ce = crossEntropy(logits, labels);
        INDArray dT = backLinear("probe", t, ce.dLogits, g);
        return new Result(ce.value, ce.value, Double.NaN, Double.NaN, logits, dT, null, g);
    }

    /** The local head: hidden(t ⊕ stop(student(stop(t)))); trains the hidden net (and, through dT, the DPN). */
    Result local(INDArray t, INDArray labels) {
        Map<String, INDArray> g = new LinkedHashMap<>();
        Hidden h = hidden(t, student(t).out);
        Loss ce = crossEntropy(h.logits(), labels);
        INDArray dIn = h.backward(ce.dLogits, g);
        INDArray dT = dIn.get(NDArrayIndex.all(), NDArrayIndex.interval(0, t.size(1))).dup();
        return new Result(ce.value, ce.value, Double.NaN, Double.NaN, h.logits(), dT, null, g);
    }

    /**
     * local + remote + distillation: the remote head reads the network's answer, the student
     * learns to imitate it (MSE over all its values); returns d loss / d network for the peers.
     */
    Result network(INDArray t, INDArray labels, INDArray network) {
        Map<String, INDArray> g = new LinkedHashMap<>();
        Student s = student(t);
        Hidden local = hidden(t, s.out);
        Loss localCe = crossEntropy(local.logits(), labels);
        Hidden remote = hidden(t, network);
        Loss remoteCe = crossEntropy(remote.logits(), labels);
        INDArray diff = s.out.sub(network);
        double distill = diff.mul(diff).sumNumber().doubleValue() / diff.length();
        s.backward(diff.muli(2.0 / diff.length()), g);
        Map<String, INDArray> gl = new LinkedHashMap<>();
        INDArray dInLocal = local.backward(localCe.dLogits, gl);
        INDArray dInRemote = remote.backward(remoteCe.dLogits, g);
        gl.forEach((k, v) -> g.get(k).addi(v));
        long td = t.size(1);
        INDArray dT = dInLocal.get(NDArrayIndex.all(), NDArrayIndex.interval(0, td))
                .add(dInRemote.get(NDArrayIndex.all(), NDArrayIndex.interval(0, td)));
        INDArray dNetwork = dInRemote.get(NDArrayIndex.all(), NDArrayIndex.interval(td, dInRemote.size(1))).dup();
        double total = localCe.value + remoteCe.value + distill;
        return new Result(total, localCe.value, remoteCe.value, distill, remote.logits(), dT, dNetwork, g);
    }

    private record Loss(double value, INDArray dLogits) {}

    /** Softmax cross-entropy averaged over the batch, and its gradient w.r.t. the logits. */
    private static Loss crossEntropy(INDArray logits, INDArray labels) {
        long b = logits.size(0);
        INDArray shifted = logits.subColumnVector(logits.max(true, 1));
        INDArray logSum = Transforms.log(Transforms.exp(shifted, true).sum(true, 1), false);
        INDArray logP = shifted.subiColumnVector(logSum);
        double loss = -labels.mul(logP).sumNumber().doubleValue() / b;
        INDArray d = Transforms.exp(logP, false).muliColumnVector(labels.sum(true, 1)).subi(labels).divi(b);
        return new Loss(loss, d);
    }

    private INDArray linear(String name, INDArray x) {
        return x.mmul(param(name + "_w")).addiRowVector(param(name + "_b"));
    }

    /** Puts the weight and bias gradients into g; returns d loss / d x. */
    private INDArray backLinear(String name, INDArray x, INDArray dy, Map<String, INDArray> g) {
        g.put(name + "_w", x.transpose().mmul(dy));
        g.put(name + "_b", dy.sum(0));
        return dy.mmul(param(name + "_w").transpose());
    }

    private INDArray param(String name) {
        INDArray p = params.get(name);
        if (p == null) {
            throw new IllegalStateException("no parameter " + name);
        }
        return p;
    }

    private static INDArray relu(INDArray x) {
        return Nd4j.getExecutioner().exec(new RectifiedLinear(x, x));
    }

    private static INDArray reluBack(INDArray y, INDArray dy) {
        return Nd4j.exec(new RectifiedLinearDerivative(y, dy, dy.ulike()))[0];
    }

    /** The student net (its input is the stopped transform). */
    private final class Student {
        final INDArray in;
        final INDArray s1;
        final INDArray s2;
        final INDArray out;

        Student(INDArray t) {
            in = t;
            s1 = relu(linear("student1", t));
            s2 = relu(linear("student2", s1));
            out = linear("student3", s2);
        }

        void backward(INDArray dOut, Map<String, INDArray> g) {
            INDArray d = reluBack(s2, backLinear("student3", s2, dOut, g));
            d = reluBack(s1, backLinear("student2", s1, d, g));
            backLinear("student1", in, d, g);
        }
    }

    private Student student(INDArray t) {
        return new Student(t);
    }

    /** The hidden net over transform ⊕ context; logits are its first ten outputs. */
    private final class Hidden {
        final INDArray in;
        final INDArray h1;
        final INDArray h2;
        final INDArray out;

        Hidden(INDArray t, INDArray context) {
            in = Nd4j.concat(1, t, context);
            h1 = relu(linear("hidden1", in));
            h2 = relu(linear("hidden2", h1));
            out = linear("hidden3", h2);
        }

        INDArray logits() {
            return out.get(NDArrayIndex.all(), NDArrayIndex.interval(0, CifarImages.CLASSES)).dup();
        }

        /** d loss / d (t ⊕ context) from d loss / d logits. */
        INDArray backward(INDArray dLogits, Map<String, INDArray> g) {
            INDArray dOut = out.like();
            dOut.get(NDArrayIndex.all(), NDArrayIndex.interval(0, CifarImages.CLASSES)).assign(dLogits);
            INDArray d = reluBack(h2, backLinear("hidden3", h2, dOut, g));
            d = reluBack(h1, backLinear("hidden2", h1, d, g));
            return backLinear("hidden1", in, d, g);
        }
    }

    private Hidden hidden(INDArray t, INDArray context) {
        return new Hidden(t, context);
    }
}
