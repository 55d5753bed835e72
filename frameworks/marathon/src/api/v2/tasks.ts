/** `GET /v2/tasks?status=running|staging|…` (also `status[]=`): `{"tasks":[Task]}` (Marathon's `TasksResource`). */
import type Router from '@koa/router';
import { taskToJson } from '../../model/task.js';
import { queryValues } from '../body.js';
import type { ApiServices } from '../services.js';

export function registerTaskRoutes(router: Router, services: ApiServices): void {
  router.get('/v2/tasks', (ctx) => {
    const wanted = new Set(queryValues(ctx, 'status', 'status[]').map((s) => `TASK_${s.toUpperCase()}`));
    const tasks = services.tasks.all().filter((t) => wanted.size === 0 || wanted.has(t.state));
    ctx.body = { tasks: tasks.map(taskToJson) };
  });
}
