package berth

// LabelPrefix begins the key of every label berth puts on engine objects or reads from them
// ("berth.cron.schedule", "berth.stack.object", "berth.lab", ...): each package names its own
// keys from it, so that one filter on the prefix finds everything berth made. The stack
// namespace label is the Docker CLI's own (com.docker.stack.namespace), so that `docker stack`
// and berth see the same stacks.
const LabelPrefix = "berth."
