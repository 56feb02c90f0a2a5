// A shared object that is not a sensor_reporter plugin: no entry point.
extern "C" __attribute__((visibility("default"))) int not_a_plugin() { return 42; }
