// The protobuf-c runtime that the generated message code links against.
#include <protobuf-c/protobuf-c.h>
