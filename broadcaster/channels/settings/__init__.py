"""Each channel's settings: the model of its ``channels.<name>`` section, its secrets, and
where its class and factory are (its ``KIT``), in a module light enough to read at every
config load. Listed in :data:`broadcaster.channels.kit.CHANNELS`."""
