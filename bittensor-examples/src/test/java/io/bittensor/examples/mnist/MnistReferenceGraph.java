package io.bittensor.examples.mnist;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.autodiff.loss.LossReduce;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.controlflow.compat.StopGradient;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Conv2DConfig;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Pooling2DConfig;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The MNIST model as a SameDiff graph (how it was built before {@link MnistEngine}), for tests:
 * SameDiff's own autodiff is the yardstick the hand-written passes must match, exactly, at the
 * same point, without finite differences (max-pool ties make those unreliable in float).
 */
final class MnistReferenceGraph {
    static final String LOCAL_LOSS = "local_loss";
    static final String TOTAL_LOSS = "total_loss";
    static final String SERVED_LOSS = "served_loss";

    private final SameDiff sd = SameDiff.create();
    private final List<String> names;

    /** A graph over copies of {@code params}; {@code mask} is the conv2 dropout {@code [b,20]} (ones for none). */
    MnistReferenceGraph(Map<String, INDArray> params) {
        this.names = List.copyOf(params.keySet());
        Map<String, SDVariable> v = new LinkedHashMap<>();
        params.forEach((k, a) -> v.put(k, sd.var(k, a.dup())));
        SDVariable images = sd.placeHolder("images", DataType.FLOAT, -1, 1, 28, 28);
        SDVariable labels = sd.placeHolder("labels", DataType.FLOAT, -1, MnistModel.CLASSES);
        SDVariable mask = sd.placeHolder("mask", DataType.FLOAT, -1, MnistModel.CONV2_CHANNELS, 1, 1);
        SDVariable network = sd.placeHolder("network", DataType.FLOAT, -1, MnistModel.NETWORK_DIM);
        SDVariable servedGrad = sd.placeHolder("served_grad", DataType.FLOAT, -1, MnistModel.TRANSFORM_DIM);
        Conv2DConfig conv = Conv2DConfig.builder().kH(5).kW(5).dataFormat("NCHW").build();
        Pooling2DConfig pool = Pooling2DConfig.builder().kH(2).kW(2).sH(2).sW(2).isNHWC(false).build();

        SDVariable x = images.sub(MnistEngine.MEAN).div(MnistEngine.STD);
        SDVariable h = sd.nn.relu(sd.cnn.maxPooling2d(sd.cnn.conv2d(x, v.get("conv1_w"), v.get("conv1_b"), conv), pool), 0);
        SDVariable c2 = sd.cnn.conv2d(h, v.get("conv2_w"), v.get("conv2_b"), conv);
        SDVariable transform = sd.reshape(sd.nn.relu(sd.cnn.maxPooling2d(c2.mul(mask), pool), 0), -1, MnistModel.TRANSFORM_DIM);
        SDVariable s = stop(transform).mmul(v.get("student1_w")).add(v.get("student1_b"));
        s = sd.nn.relu(s, 0).mmul(v.get("student2_w")).add(v.get("student2_b"));
        SDVariable student = sd.nn.relu(s, 0);
        SDVariable local = head(v, sd.concat(1, transform, stop(student)));
        SDVariable remote = head(v, sd.concat(1, transform, network));
        SDVariable localLoss = sd.loss.softmaxCrossEntropy(LOCAL_LOSS, labels, local, null,
                LossReduce.MEAN_BY_NONZERO_WEIGHT_COUNT, 0.0);
        SDVariable remoteLoss = sd.loss.softmaxCrossEntropy("remote_loss", labels, remote, null,
                LossReduce.MEAN_BY_NONZERO_WEIGHT_COUNT, 0.0);
        SDVariable distill = sd.loss.meanSquaredError("distill_loss", stop(network), student, null,
                LossReduce.MEAN_BY_NONZERO_WEIGHT_COUNT);
        localLoss.add(remoteLoss).add(TOTAL_LOSS, distill);
        transform.mul(servedGrad).sum(SERVED_LOSS);
    }

    private SDVariable head(Map<String, SDVariable> v, SDVariable in) {
        SDVariable z = sd.nn.relu(in.mmul(v.get("hidden1_w")).add(v.get("hidden1_b")), 0);
        return z.mmul(v.get("hidden2_w")).add(v.get("hidden2_b"));
    }

    private SDVariable stop(SDVariable x) {
        return new StopGradient(sd, x).outputVariable();
    }

    /**
     * Gradients of {@code loss} for every parameter and for the placeholders named in {@code alsoFor}.
     * Null inputs are fed as zeros (ones for the mask: no dropout).
     */
    Map<String, INDArray> gradients(String loss, INDArray images, INDArray labels, INDArray mask, INDArray network,
            INDArray servedGrad, String... alsoFor) {
        sd.setLossVariables(loss);
        sd.createGradFunction(alsoFor); // rebuilt for this loss; placeholders get gradients only when named
        List<String> wanted = new ArrayList<>(names);
        wanted.addAll(List.of(alsoFor));
        return sd.calculateGradients(placeholders(images, labels, mask, network, servedGrad), wanted);
    }

    double loss(String loss, INDArray images, INDArray labels, INDArray mask, INDArray network) {
        return sd.output(placeholders(images, labels, mask, network, null), loss).get(loss).getDouble(0);
    }

    private static Map<String, INDArray> placeholders(INDArray images, INDArray labels, INDArray mask,
            INDArray network, INDArray servedGrad) {
        long b = images.size(0);
        Map<String, INDArray> ph = new LinkedHashMap<>();
        ph.put("images", images);
        ph.put("labels", labels == null ? Nd4j.zeros(DataType.FLOAT, b, MnistModel.CLASSES) : labels);
        ph.put("mask", (mask == null ? Nd4j.ones(DataType.FLOAT, b, MnistModel.CONV2_CHANNELS) : mask)
                .reshape(b, MnistModel.CONV2_CHANNELS, 1, 1));
        ph.put("network", network == null ? Nd4j.zeros(DataType.FLOAT, b, MnistModel.NETWORK_DIM) : network);
        ph.put("served_grad", servedGrad == null ? Nd4j.zeros(DataType.FLOAT, b, MnistModel.TRANSFORM_DIM) : servedGrad);
        return ph;
    }
}
