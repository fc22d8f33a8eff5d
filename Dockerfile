# Multi-stage build: compile TypeScript in a full Node image, run the compiled proxy as a
# non-root user in a slim one, on Bun (the default runtime: the bun package, installed by npm ci,
# runs dist/cli.js directly, with no Node.js parent process). Node.js stays in the image:
# `docker run … --runtime node --config …` runs the proxy on it instead.
FROM node:20-bookworm AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /opt/meridian
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY config/meridian.yaml /etc/meridian/meridian.yaml
RUN ln -s /opt/meridian/dist/cli.js /usr/local/bin/meridian && chmod +x dist/cli.js \
  && /opt/meridian/node_modules/.bin/bun --version
USER node
EXPOSE 6432 9187
ENTRYPOINT ["/opt/meridian/node_modules/.bin/bun", "/opt/meridian/dist/cli.js"]
CMD ["--config", "/etc/meridian/meridian.yaml"]
