/* brisk: the umbrella header. */
#ifndef BRISK_H
#define BRISK_H
#include "status.h"
#include "tensor.h"
#include "data.h"
#include "train.h"
#include "dist.h"

#define BRISK_VERSION_STRING "0.1.0"
#endif
