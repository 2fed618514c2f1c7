{# SLURM script for cubemc: flow's slurm.sh plus GPUs (--gres), account, threads and a
   deadline that lets long stages checkpoint and stop before the walltime runs out. #}
{% extends "slurm.sh" %}
{% block tasks %}
#SBATCH --ntasks={{ resources.ncpu_tasks }}
{% if resources.ngpu_tasks %}
#SBATCH --gres=gpu:{{ resources.ngpu_tasks }}
{% endif %}
{% if account %}
#SBATCH --account={{ account }}
{% endif %}
{% endblock tasks %}
{% block custom_content %}
{% set job_walltime = operations | calc_walltime(parallel) %}
{% if job_walltime %}
{% set seconds = job_walltime.total_seconds() | int %}
{% set margin = [600, (seconds * 0.1) | int] | min %}
# Stages stop at a checkpoint {{ margin }} s before the walltime; resubmit to continue.
export CUBEMC_DEADLINE=$(( $(date +%s) + {{ seconds - margin }} ))
{% endif %}
{% endblock custom_content %}
{% block pre_operation %}
export NUMBA_NUM_THREADS={{ operation.directives.np }}
{% endblock pre_operation %}
