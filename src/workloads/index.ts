// Importing this module registers every workload.
