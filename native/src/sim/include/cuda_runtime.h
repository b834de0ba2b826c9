// Simulated device: see sim/cuda_sim.h.
#pragma once
#include "sim/cuda_sim.h"
