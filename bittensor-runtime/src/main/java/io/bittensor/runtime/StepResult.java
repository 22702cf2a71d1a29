package io.bittensor.runtime;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * What one training step did, in the original synapses' terms: the total loss and its parts (the
 * local head with the student's context, the remote head with the network's context, the
 * student's distillation of the network), how many examples the step's head classified correctly,
 * and for a step with the network the gradient to send back to it.
 *
 * @param loss        the loss the step minimised (local + remote + distillation with the network)
 * @param localLoss   the local head's loss
 * @param remoteLoss  the remote head's loss; NaN for a step without the network
 * @param distillLoss the student's loss; NaN for a step without the network
 * @param correct     examples the step's head (remote with the network, else local) got right
 * @param count       examples in the step
 * @param networkGrad d loss / d network output {@code [b, 512]} (or {@code [b, seq, 512]}); null for a step without the network
 */
public record StepResult(double loss, double localLoss, double remoteLoss, double distillLoss, int correct, int count,
        INDArray networkGrad) {
    public double accuracy() {
        return count == 0 ? 0 : (double) correct / count;
    }

    /**
     * The loss worth watching: the classification loss with the network as context (the
     * original's {@code network_target_loss}) when there was a network, else the local loss. The
     * total adds the distillation MSE, which jumps whenever a peer re-serves a new model.
     */
    public double reportedLoss() {
        return Double.isNaN(remoteLoss) ? loss : remoteLoss;
    }
}
