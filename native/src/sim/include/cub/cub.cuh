// Simulated device: serial stand-ins for the CUB calls in use (sim/cub_sim.h).
#pragma once
#include "sim/cub_sim.h"
