package io.bittensor.config;

/** A configuration value that cannot be used; the message names the option and says why. */
public final class ConfigException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    private final String option;

    public ConfigException(String option, String problem) {
        super(option + ": " + problem);
        this.option = option;
    }

    /** The flag the value belongs to, for example "--axon_port". */
    public String option() {
        return option;
    }
}
