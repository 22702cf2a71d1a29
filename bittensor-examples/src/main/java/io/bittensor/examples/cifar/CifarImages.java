package io.bittensor.examples.cifar;

/** CIFAR-10's image geometry, classes and the per-channel statistics used to normalize. */
public final class CifarImages {
    public static final int SIZE = 32;
    public static final int CHANNELS = 3;
    /** Values per image: 3 planes of 32×32, channel-major (R plane, G plane, B plane) as NCHW. */
    public static final int PIXELS = CHANNELS * SIZE * SIZE;
    public static final int CLASSES = 10;
    /** CIFAR-10's class names in label order. */
    public static final java.util.List<String> CLASS_NAMES = java.util.List.of("airplane", "automobile", "bird",
            "cat", "deer", "dog", "frog", "horse", "ship", "truck");
    /** Per-channel mean and standard deviation of the CIFAR-10 training images (pixels in [0, 1]). */
    static final float[] MEAN = {0.4914f, 0.4822f, 0.4465f};
    static final float[] STD = {0.2470f, 0.2435f, 0.2616f};

    private CifarImages() {
    }
}
