import { useState } from 'react';
import { createBrowserRouter, Navigate, RouterProvider } from 'react-router';

import { AppLayout } from './layout';
import { DatasetRoute } from './routes/dataset';
import { DatasetsRoute } from './routes/datasets';
import { GenerateRoute } from './routes/generate';
import { NotFoundRoute } from './routes/not-found';
import { QueuesRoute } from './routes/queues';
import { RunRoute } from './routes/run';
import { RunsRoute } from './routes/runs';

export const routes = [
  {
    path: '/',
    element: <AppLayout />,
    children: [
      { index: true, element: <Navigate to="/datasets" replace /> },
      { path: 'generate', element: <GenerateRoute /> },
      { path: 'datasets', element: <DatasetsRoute /> },
      { path: 'datasets/:name', element: <DatasetRoute /> },
      { path: 'runs', element: <RunsRoute /> },
      { path: 'runs/:id', element: <RunRoute /> },
      { path: 'queues', element: <QueuesRoute /> },
      { path: '*', element: <NotFoundRoute /> },
    ],
  },
];

export function AppRouter() {
  // one router per mount (tests mount the app more than once)
  const [router] = useState(() => createBrowserRouter(routes));
  return <RouterProvider router={router} />;
}
