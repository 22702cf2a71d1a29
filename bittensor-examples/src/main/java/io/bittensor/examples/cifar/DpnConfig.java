package io.bittensor.examples.cifar;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Sizes of a dual-path network (DPN), as the original's {@code DPNConfig} plus the stem width, the
 * number of groups of the 3×3 convolutions and the stride of each stage.
 *
 * <p>Stage {@code i} has {@code blocks[i]} blocks; each block maps its input through 1×1 conv to
 * {@code in[i]} channels, a grouped 3×3 conv, and a 1×1 conv to {@code out[i] + dense[i]}; the first
 * {@code out[i]} channels are added to the shortcut (residual path), the rest concatenated (dense
 * path). After the stages a 4×4 average pool and a flatten give the transform.
 */
public record DpnConfig(String name, int stem, int[] in, int[] out, int[] blocks, int[] dense, int groups,
        int[] strides) {

    /**
     * The default: trains usefully on 2 CPU cores (the mini-DPN that {@code ND4J-NOTES.md} and the
     * PyTorch reference figures use): about 0.4 M parameters.
     */
    public static final DpnConfig MINI = new DpnConfig("mini", 16, new int[] {16, 32, 64, 128},
            new int[] {32, 64, 128, 256}, new int[] {1, 1, 1, 1}, new int[] {8, 8, 16, 16}, 4, new int[] {1, 2, 2, 2});

    /** The original's default, "DPN-26": 32 groups, stage strides 1, 2, 1, 2 as its synapse. */
    public static final DpnConfig DPN26 = new DpnConfig("dpn26", 64, new int[] {96, 192, 384, 768},
            new int[] {256, 512, 1024, 2048}, new int[] {2, 2, 2, 2}, new int[] {16, 32, 24, 128}, 32,
            new int[] {1, 2, 1, 2});

    public static final List<DpnConfig> PRESETS = List.of(MINI, DPN26);

    public DpnConfig {
        in = in.clone();
        out = out.clone();
        blocks = blocks.clone();
        dense = dense.clone();
        strides = strides.clone();
        int stages = in.length;
        if (stages == 0 || out.length != stages || blocks.length != stages || dense.length != stages
                || strides.length != stages) {
            throw new IllegalArgumentException("in, out, blocks, dense and strides need one entry per stage");
        }
        if (stem < 1 || groups < 1) {
            throw new IllegalArgumentException("stem and groups must be positive");
        }
        int size = CifarImages.SIZE;
        for (int i = 0; i < stages; i++) {
            if (in[i] < 1 || out[i] < 1 || blocks[i] < 1 || dense[i] < 0 || strides[i] < 1) {
                throw new IllegalArgumentException("stage " + i + " has a non-positive size");
            }
            if (in[i] % groups != 0) {
                throw new IllegalArgumentException("stage " + i + ": " + in[i] + " channels do not split into "
                        + groups + " groups");
            }
            size /= strides[i];
        }
        if (size < 4 || size % 4 != 0) {
            throw new IllegalArgumentException("the strides leave " + size + "×" + size
                    + " maps; the final 4×4 average pool needs a multiple of 4");
        }
    }

    /** The preset of that name (case-insensitive). */
    public static DpnConfig preset(String name) {
        for (DpnConfig c : PRESETS) {
            if (c.name.equalsIgnoreCase(name)) {
                return c;
            }
        }
        throw new IllegalArgumentException("unknown model preset '" + name + "'; choose one of "
                + PRESETS.stream().map(DpnConfig::name).toList());
    }

    public int stages() {
        return in.length;
    }

    /** Channels leaving stage {@code i}: the residual width plus every block's dense growth. */
    public int stageChannels(int i) {
        return out[i] + (blocks[i] + 1) * dense[i];
    }

    /** Side of the feature maps after the last stage. */
    public int finalSize() {
        int size = CifarImages.SIZE;
        for (int s : strides) {
            size /= s;
        }
        return size;
    }

    /** Width of the flattened transform (after the 4×4 average pool). */
    public int transformDim() {
        int side = finalSize() / 4;
        return stageChannels(stages() - 1) * side * side;
    }

    public int[] in() {
        return in.clone();
    }

    public int[] out() {
        return out.clone();
    }

    public int[] blocks() {
        return blocks.clone();
    }

    public int[] dense() {
        return dense.clone();
    }

    public int[] strides() {
        return strides.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DpnConfig c && name.equals(c.name) && stem == c.stem && groups == c.groups
                && Arrays.equals(in, c.in) && Arrays.equals(out, c.out) && Arrays.equals(blocks, c.blocks)
                && Arrays.equals(dense, c.dense) && Arrays.equals(strides, c.strides);
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(out);
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%s(stem %d, in %s, out %s, blocks %s, dense %s, groups %d, strides %s)",
                name, stem, Arrays.toString(in), Arrays.toString(out), Arrays.toString(blocks),
                Arrays.toString(dense), groups, Arrays.toString(strides));
    }
}
