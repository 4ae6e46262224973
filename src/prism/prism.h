// prism: explanations of neural-network classifiers, and measures of their quality, on LibTorch.
// One include for the whole library.
#pragma once

#include "prism/core/error.h"
#include "prism/core/files.h"
#include "prism/core/progress.h"
#include "prism/core/threads.h"
#include "prism/data/catalog.h"
#include "prism/data/dataset.h"
#include "prism/data/readers.h"
#include "prism/data/transforms.h"
#include "prism/io/npy.h"
#include "prism/io/png.h"
#include "prism/model/model_file.h"
#include "prism/model/network.h"
#include "prism/model/predict.h"
#include "prism/model/torchscript.h"
#include "prism/model/train.h"
#include "prism/model/zoo.h"
