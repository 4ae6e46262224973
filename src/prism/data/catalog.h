// Finds and loads a data set from the spec a user types after --data:
//   fashion-mnist                 Debian's copy (/usr/share/datasets/fashion-mnist) or $PRISM_DATA
//   idx:PREFIX                    MNIST-style files PREFIX{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]
//                                 (PREFIX may be a folder holding them)
//   cifar10:DIR                   CIFAR-10 binary batches (data_batch_1..5.bin, test_batch.bin)
//   npy:IMAGES.npy,LABELS.npy     arrays: uint8 or float [N,H,W], [N,C,H,W] or [N,H,W,C], or table rows [N,F];
//                                 integer labels
//   sequence:SEQUENCES.npy,LABELS.npy
//                                 sequences or time series: float [N, T] (one channel) or [N, C, T]; integer labels
//   fashion-mnist:rows            Fashion-MNIST read as sequences: each image top to bottom, 28 steps of its rows'
//                                 28 pixels ([N, 28, 28] as [N, C = column, T = row]; row-sequential Fashion-MNIST)
//   csv:TABLE.csv[,TEST.csv][,label=COLUMN]
//                                 a table: a header row naming the columns, numeric feature columns, the label
//                                 column (the last unless named; numbers 0..K-1 or class names); one file is
//                                 split 80/20 (training/test) by a fixed seed
//   folder:DIR                    one subfolder per class of PNG/JPEG images (DIR/train, DIR/test if present)
#pragma once
#include <string>

#include "prism/data/dataset.h"

namespace prism {

enum class Split { Train, Test };

// For npy:, sequence: and folder: specs holding a single set, both splits are that set.
Dataset load_dataset(const std::string& spec, Split split);

// The folder that holds Debian's Fashion-MNIST, or $PRISM_DATA if set.
std::string fashion_mnist_dir();

// A seeded random subset of `size` images (all of them if size <= 0 or >= N), in random order.
Dataset random_subset(const Dataset& data, int64_t size, uint64_t seed);

struct TrainValidation {
  Dataset train;
  Dataset validation;
};
// Holds out a seeded `fraction` (0 < fraction < 1) of `data` for validation.
TrainValidation split_validation(const Dataset& data, double fraction, uint64_t seed);

}  // namespace prism
